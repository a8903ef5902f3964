/**
 * What happened at the core's door: every request `FhirCore.handle` answered, successful or not
 * (a refused or failed request carries its OperationOutcome). The audit (DESIGN.md D7) observes
 * here, so every door that goes through the core — REST, and later HL7 v2 and DICOM mappings — is
 * audited in one place. An observer that throws fails the request: a configured fail-closed audit
 * sink uses that to refuse clinical reads it cannot record.
 */
import type { RequestContext } from '../access/request-context.ts';
import type { FhirRequest, FhirResponse, InteractionName } from './interaction.ts';

export interface ObservedInteraction {
  ctx: RequestContext;
  request: FhirRequest;
  interaction: InteractionName;
  response: FhirResponse;
}

export type InteractionObserver = (observed: ObservedInteraction) => void | Promise<void>;
