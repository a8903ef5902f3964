/**
 * `CodeSystem/$validate-code` — http://hl7.org/fhir/R4/codesystem-operation-validate-code.html:
 * "Validate that a coded value is in the code system." `GET|POST CodeSystem/$validate-code?url=…
 * &code=…` or, at instance level, `CodeSystem/[id]/$validate-code` for the stored CodeSystem's
 * URL. An unknown code or code system is an answer (`result = false` with a `message`), not an
 * error; a request without a code system or a code is a 400.
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
  storedResource,
  terminologyParameters,
} from './terminology-parameters.ts';
import { validateCodeResponse, validateCodings } from './validate-code-result.ts';

const UNSUPPORTED = {
  codeSystem: 'is not supported: store the CodeSystem (or import it) and pass its url',
  date: 'is not supported: codes are validated against the code system version given, or the latest',
  abstract: 'is not supported: every known concept is validated as recordable',
  displayLanguage: 'is not supported: display is checked against every designation',
};

export function codeSystemValidateCode(terminology: TerminologyService): FhirOperation {
  return {
    name: 'validate-code',
    definition: definitionUrl('CodeSystem-validate-code'),
    type: ['CodeSystem'],
    instance: ['CodeSystem'],
    methods: ['GET', 'POST'],
    handler: (request, env) => validateCode(request, env, terminology),
  };
}

async function validateCode(
  request: RoutedRequest,
  env: InteractionEnv,
  terminology: TerminologyService,
): Promise<FhirResponse> {
  const parameters = terminologyParameters('CodeSystem-validate-code', request, UNSUPPORTED);
  const system =
    request.id === undefined
      ? (primitive(parameters, 'url') ??
        missing('CodeSystem/$validate-code', 'the url of the code system', ['url']))
      : await storedCodeSystemUrl(request.id, env, primitive(parameters, 'url'));
  const version = primitive(parameters, 'version');
  const codings = codingsToValidate(parameters, system, version);
  const result = await validateCodings(codings, (coding) => terminology.validateCode(env.ctx, coding));
  return validateCodeResponse(result);
}

/** `CodeSystem/[id]/$validate-code`: the stored CodeSystem's url (a `url` given must be the same). */
async function storedCodeSystemUrl(
  id: string,
  env: InteractionEnv,
  url: string | undefined,
): Promise<string> {
  const stored = await storedResource(env, 'CodeSystem', id);
  if (typeof stored.url !== 'string') {
    throw fhirError('unprocessable', 'processing', `CodeSystem/${id} has no url to validate against`);
  }
  if (url !== undefined && url !== stored.url) {
    throw fhirError('invalid', 'invalid', `url ${url} is not the url of CodeSystem/${id} (${stored.url})`, [
      'url',
    ]);
  }
  return stored.url;
}

/** `code` (with `display`), `coding` or `codeableConcept`: exactly one, in the code system `system`. */
function codingsToValidate(
  parameters: readonly OperationParameter[],
  system: string,
  version: string | undefined,
): CodingInput[] {
  const code = primitive(parameters, 'code');
  const coding = codingParameter(parameters, 'coding');
  const concept = codeableConceptParameter(parameters, 'codeableConcept');
  const given =
    (code !== undefined ? 1 : 0) + (coding !== undefined ? 1 : 0) + (concept !== undefined ? 1 : 0);
  if (given === 0) missing('CodeSystem/$validate-code', 'a code, coding or codeableConcept', ['code']);
  if (given > 1) {
    throw fhirError('invalid', 'invalid', 'Give only one of code, coding and codeableConcept', ['code']);
  }
  if (code !== undefined) {
    const display = primitive(parameters, 'display');
    const input: CodingInput = { system, code };
    if (version !== undefined) input.version = version;
    if (display !== undefined) input.display = display;
    return [input];
  }
  if (coding !== undefined) return [inSystem(coding, 'coding', system, version)];
  // Only the codings of this code system count; a concept coded only in others is not in it
  // (validateCodings answers result = false for none).
  const own = (concept ?? []).filter((input) => input.system === undefined || input.system === system);
  return own.map((input) => inSystem(input, 'codeableConcept.coding', system, version));
}

/** A sent Coding in the code system validated against (its own `system`, if any, must be that one). */
function inSystem(
  input: CodingInput,
  where: string,
  system: string,
  version: string | undefined,
): CodingInput {
  if (input.system !== undefined && input.system !== system) {
    throw fhirError(
      'invalid',
      'invalid',
      `${where}.system ${input.system} is not the code system being validated against (${system})`,
      [`${where}.system`],
    );
  }
  const inputVersion = input.version ?? version;
  return { ...input, system, ...(inputVersion !== undefined ? { version: inputVersion } : {}) };
}
