/**
 * The terminology operations (http://hl7.org/fhir/R4/terminology-service.html) over one
 * `TerminologyService`, for the composition root to register with the core.
 */
import type { TerminologyService } from '../../terminology/terminology-service.ts';
import type { FhirOperation } from '../operations.ts';
import { codeSystemValidateCode } from './code-system-validate-code.ts';
import { valueSetExpand } from './expand.ts';
import { codeSystemLookup } from './lookup.ts';
import { codeSystemSubsumes } from './subsumes.ts';
import { conceptMapTranslate } from './translate.ts';
import { valueSetValidateCode } from './value-set-validate-code.ts';

export function terminologyOperations(terminology: TerminologyService): FhirOperation[] {
  return [
    codeSystemLookup(terminology),
    codeSystemValidateCode(terminology),
    codeSystemSubsumes(terminology),
    valueSetExpand(terminology),
    valueSetValidateCode(terminology),
    conceptMapTranslate(terminology),
  ];
}
