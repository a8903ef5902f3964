/**
 * The validator's binding checks (packages/fhir validation/binding-checker.ts) answered by the
 * terminology service: value sets stored in the exchange (ICD-10, ICPC-2, a national IG's). The
 * R4 spec's own value sets are answered in memory first (validation-service.ts), so most checks
 * never reach the database.
 */
import { type BindingChecker, FhirError } from '@concordia/fhir';
import { systemContext } from '../../access/request-context.ts';
import type { TerminologyService } from '../../terminology/terminology-service.ts';

const VALIDATION_CONTEXT = systemContext('validation');

export interface TerminologyBindings extends BindingChecker {
  /** A ValueSet or CodeSystem was stored: a value set unknown so far may now be known. */
  reconsiderUnknown(): void;
}

export function terminologyBindings(terminology: TerminologyService): TerminologyBindings {
  // Value sets the service does not hold (R4's `currencies`, on every Money of every Claim) would
  // otherwise cost a database round trip on each write that uses them.
  const unknown = new Set<string>();
  return {
    reconsiderUnknown: () => unknown.clear(),
    async check(valueSet, coding) {
      if (unknown.has(valueSet)) return { known: false };
      try {
        // A binding asks whether the code is in the value set; a wrong display is not that
        // (and would make $validate-code's result false), so it is not sent.
        const { display: _display, ...code } = coding;
        const result = await terminology.validateCode(VALIDATION_CONTEXT, code, valueSet);
        return {
          known: true,
          valid: result.result,
          ...(result.message === undefined ? {} : { message: result.message }),
        };
      } catch (error) {
        // A value set or code system the exchange does not hold: the binding cannot be judged here.
        if (error instanceof FhirError && (error.kind === 'not-found' || error.kind === 'unprocessable')) {
          unknown.add(valueSet);
          return { known: false, message: error.message };
        }
        throw error;
      }
    },
  };
}
