/**
 * `CodeSystem/$subsumes` — http://hl7.org/fhir/R4/codesystem-operation-subsumes.html: "Test the
 * subsumption relationship between code/Coding A and code/Coding B given the semantics of
 * subsumption in the underlying code system." `codeA`/`codeB` with `system` (type level) or the
 * stored CodeSystem (instance level), or `codingA`/`codingB`; the answer is `outcome`:
 * equivalent | subsumes | subsumed-by | not-subsumed.
 */
import { fhirError } from '@concordia/fhir';
import type { CodingInput, TerminologyService } from '../../terminology/terminology-service.ts';
import type { FhirResponse } from '../interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../interaction-env.ts';
import type { FhirOperation, OperationParameter } from '../operations.ts';
import { definitionUrl } from './operation-definitions.ts';
import {
  codingParameter,
  missing,
  parametersResponse,
  primitive,
  storedResource,
  terminologyParameters,
} from './terminology-parameters.ts';

export function codeSystemSubsumes(terminology: TerminologyService): FhirOperation {
  return {
    name: 'subsumes',
    definition: definitionUrl('CodeSystem-subsumes'),
    type: ['CodeSystem'],
    instance: ['CodeSystem'],
    methods: ['GET', 'POST'],
    handler: (request, env) => subsumes(request, env, terminology),
  };
}

async function subsumes(
  request: RoutedRequest,
  env: InteractionEnv,
  terminology: TerminologyService,
): Promise<FhirResponse> {
  const parameters = terminologyParameters('CodeSystem-subsumes', request);
  const a = side(parameters, 'A');
  const b = side(parameters, 'B');
  const system = await subsumptionSystem(request, env, primitive(parameters, 'system'), [a, b]);
  const version = primitive(parameters, 'version') ?? a.coding?.version ?? b.coding?.version;
  const outcome = await terminology.subsumes(env.ctx, system, a.code, b.code, version);
  return parametersResponse([{ name: 'outcome', valueCode: outcome }]);
}

interface Side {
  code: string;
  coding?: CodingInput;
}

/** `codeX` or `codingX`: one of them (codesystem-operation-subsumes.html). */
function side(parameters: readonly OperationParameter[], which: 'A' | 'B'): Side {
  const code = primitive(parameters, `code${which}`);
  const coding = codingParameter(parameters, `coding${which}`);
  if (code !== undefined && coding !== undefined) {
    throw fhirError('invalid', 'invalid', `Give code${which} or coding${which}, not both`, [
      `coding${which}`,
    ]);
  }
  if (coding !== undefined) return { code: coding.code, coding };
  if (code === undefined) missing('$subsumes', `code${which} or coding${which}`, [`code${which}`]);
  return { code };
}

/**
 * "The code system in which subsumption testing is to be performed. This must be provided unless
 * the operation is invoked on a code system instance"; codings must be of that same system.
 */
async function subsumptionSystem(
  request: RoutedRequest,
  env: InteractionEnv,
  system: string | undefined,
  sides: readonly Side[],
): Promise<string> {
  let url = system;
  if (request.id !== undefined) {
    const stored = await storedResource(env, 'CodeSystem', request.id);
    if (typeof stored.url !== 'string') {
      throw fhirError('unprocessable', 'processing', `CodeSystem/${request.id} has no url`);
    }
    url = stored.url;
  }
  const codingSystems = [
    ...new Set(sides.flatMap((entry) => (entry.coding?.system !== undefined ? [entry.coding.system] : []))),
  ];
  if (url === undefined) {
    if (codingSystems.length === 0) missing('$subsumes', 'system (or codings that carry one)', ['system']);
    url = codingSystems[0] ?? '';
  }
  for (const other of codingSystems) {
    if (other !== url) {
      throw fhirError('invalid', 'invalid', `Both codes must be of ${url}; a coding is of ${other}`, [
        'system',
      ]);
    }
  }
  return url;
}
