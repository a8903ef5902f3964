/**
 * `ValueSet/$validate-code` — http://hl7.org/fhir/R4/valueset-operation-validate-code.html:
 * "Validate that a coded value is in the set of codes allowed by a value set." The value set is
 * `url` (`valueSetVersion` optional), `valueSet` in a POST body, or the stored one at instance
 * level; the coded value is `code` + `system` (+ `systemVersion`, `display`), `coding` or
 * `codeableConcept`. A code that is not in the set is an answer (`result = false`, `message`).
 */
import { fhirError } from '@concordia/fhir';
import type { CodingInput, TerminologyService } from '../../terminology/terminology-service.ts';
import type { FhirResponse } from '../interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../interaction-env.ts';
import type { FhirOperation, OperationParameter } from '../operations.ts';
import { definitionUrl } from './operation-definitions.ts';
import {
  codeableConceptParameter,
  codingParameter,
  missing,
  primitive,
  resourceParameter,
  storedResource,
  terminologyParameters,
  versionedUrl,
} from './terminology-parameters.ts';
import { validateCodeResponse, validateCodings } from './validate-code-result.ts';

const UNSUPPORTED = {
  context: 'is not supported: give the value set by url or valueSet',
  date: 'is not supported: codes are validated against the value set as it is now',
  abstract: 'is not supported: every known concept is validated as recordable',
  displayLanguage: 'is not supported: display is checked against every designation',
};

export function valueSetValidateCode(terminology: TerminologyService): FhirOperation {
  return {
    name: 'validate-code',
    definition: definitionUrl('ValueSet-validate-code'),
    type: ['ValueSet'],
    instance: ['ValueSet'],
    methods: ['GET', 'POST'],
    handler: (request, env) => validateCode(request, env, terminology),
  };
}

async function validateCode(
  request: RoutedRequest,
  env: InteractionEnv,
  terminology: TerminologyService,
): Promise<FhirResponse> {
  const parameters = terminologyParameters('ValueSet-validate-code', request, UNSUPPORTED);
  const valueSet = await valueSetOf(request, env, parameters);
  const codings = codingsToValidate(parameters);
  const result = await validateCodings(codings, (coding) =>
    terminology.validateCode(env.ctx, coding, valueSet),
  );
  return validateCodeResponse(result);
}

async function valueSetOf(
  request: RoutedRequest,
  env: InteractionEnv,
  parameters: readonly OperationParameter[],
): Promise<string | Record<string, unknown>> {
  const url = primitive(parameters, 'url');
  const version = primitive(parameters, 'valueSetVersion');
  const sent = resourceParameter(parameters, 'valueSet', 'ValueSet');
  if (request.id !== undefined) {
    const stored = await storedResource(env, 'ValueSet', request.id);
    if (typeof stored.url !== 'string') return stored;
    return versionedUrl(stored.url, typeof stored.version === 'string' ? stored.version : undefined);
  }
  if (url !== undefined && sent !== undefined) {
    throw fhirError('invalid', 'invalid', 'Give url or valueSet, not both', ['valueSet']);
  }
  if (sent !== undefined) return sent;
  if (url === undefined)
    missing('ValueSet/$validate-code', 'url or valueSet (or a ValueSet instance)', ['url']);
  return versionedUrl(url, version);
}

/** `code` + `system`, `coding` or `codeableConcept`: exactly one. */
function codingsToValidate(parameters: readonly OperationParameter[]): CodingInput[] {
  const code = primitive(parameters, 'code');
  const coding = codingParameter(parameters, 'coding');
  const concept = codeableConceptParameter(parameters, 'codeableConcept');
  const given = [code, coding, concept].filter((value) => value !== undefined).length;
  if (given === 0)
    missing('ValueSet/$validate-code', 'a code (with system), coding or codeableConcept', ['code']);
  if (given > 1) {
    throw fhirError('invalid', 'invalid', 'Give only one of code, coding and codeableConcept', ['code']);
  }
  if (code !== undefined) {
    // "If a code is provided, a system or a context must be provided" (the definition, code).
    const system =
      primitive(parameters, 'system') ?? missing('ValueSet/$validate-code', 'system with code', ['system']);
    const version = primitive(parameters, 'systemVersion');
    const display = primitive(parameters, 'display');
    return [
      {
        system,
        code,
        ...(version !== undefined ? { version } : {}),
        ...(display !== undefined ? { display } : {}),
      },
    ];
  }
  return coding !== undefined ? [coding] : (concept ?? []);
}
