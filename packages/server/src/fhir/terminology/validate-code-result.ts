/**
 * What `$validate-code` answers, for a code system (codesystem-operation-validate-code.html) and
 * for a value set (valueset-operation-validate-code.html) alike: `result`, `message`, `display`.
 * A CodeableConcept is valid when any of its codings is ("if a CodeableConcept is provided, the
 * operation returns true if any of the codes are valid").
 */
import type { CodingInput, ValidateCodeResult } from '../../terminology/terminology-service.ts';
import type { FhirResponse } from '../interaction.ts';
import type { ParameterOut } from './terminology-parameters.ts';

/**
 * The answer for the codings of one request: a single coding's is the service's own (the cached
 * object itself on a hit, which `validateCodeResponse` recognises), several are combined.
 */
export function validateCodings(
  codings: readonly CodingInput[],
  validate: (coding: CodingInput) => Promise<ValidateCodeResult>,
): Promise<ValidateCodeResult> {
  const [first] = codings;
  // The binding checks and the benchmark's lookups send one code: no combining, no extra await.
  if (first !== undefined && codings.length === 1) return validate(first);
  return combinedAnswer(codings, validate);
}

async function combinedAnswer(
  codings: readonly CodingInput[],
  validate: (coding: CodingInput) => Promise<ValidateCodeResult>,
): Promise<ValidateCodeResult> {
  const results: ValidateCodeResult[] = [];
  for (const coding of codings) {
    const result = await validate(coding);
    if (result.result) return result;
    results.push(result);
  }
  // One coding: its answer whole, with the concept's `display` when the code was found (a wrong
  // display is still a known concept).
  const [only] = results;
  if (only !== undefined && results.length === 1) return only;
  const messages = results.flatMap((result) => (result.message !== undefined ? [result.message] : []));
  if (codings.length === 0) messages.push('None of the codings is of the code system validated against');
  return { result: false, ...(messages.length > 0 ? { message: messages.join('; ') } : {}) };
}

export function validateCodeParameters(result: ValidateCodeResult): ParameterOut[] {
  const message =
    result.message ??
    (result.inactive === true ? 'The code is inactive (retired) in its code system' : undefined);
  return [
    { name: 'result', valueBoolean: result.result },
    ...(message !== undefined ? [{ name: 'message', valueString: message }] : []),
    ...(result.display !== undefined ? [{ name: 'display', valueString: result.display }] : []),
  ];
}

/**
 * The Parameters of each answer object, built and serialised once: the service hands out the same
 * frozen object for every hit of its cache (sql-terminology-service.ts), so a cached answer is also
 * a prebuilt response body, and the entry goes when the answer object does (retired or evicted
 * from the cache). The body is the serialised JSON, as a read sends its stored bytes: the same
 * bytes answer every request asking the same question, without a `JSON.stringify` each.
 */
const responses = new WeakMap<ValidateCodeResult, string>();

export function validateCodeResponse(result: ValidateCodeResult): FhirResponse {
  let json = responses.get(result);
  if (json === undefined) {
    json = JSON.stringify({ resourceType: 'Parameters', parameter: validateCodeParameters(result) });
    // Only the service's cached answers are frozen; any other answer is this request's alone.
    if (Object.isFrozen(result)) responses.set(result, json);
  }
  return { status: 200, interaction: 'operation', body: { kind: 'json', json } };
}
