/**
 * What `$validate-code` answers, for a code system (codesystem-operation-validate-code.html) and
 * for a value set (valueset-operation-validate-code.html) alike: `result`, `message`, `display`.
 * A CodeableConcept is valid when any of its codings is ("if a CodeableConcept is provided, the
 * operation returns true if any of the codes are valid").
 */
import type { CodingInput, ValidateCodeResult } from '../../terminology/terminology-service.ts';
import type { ParameterOut } from './terminology-parameters.ts';

export async function validateCodings(
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
