/**
 * Is a unit code valid UCUM (https://ucum.org/ucum, the units of http://unitsofmeasure.org)?
 * Asked of `@lhncbc/ucum-lhc` (DESIGN.md D4) — the same library the quantity search converts
 * with — and remembered per code: a validation costs tens of microseconds, writes repeat units.
 */
import { createRequire } from 'node:module';
import { isRecord } from '../resource.ts';

interface UcumValidator {
  validateUnitString(unit: string, suggest: boolean): unknown;
}

const MAX_CACHED_UNITS = 10_000;
const cache = new Map<string, string | null>();
let validator: UcumValidator | undefined;

/** Why `code` is not a valid UCUM unit code, or `undefined` when it is. */
export function ucumUnitProblem(code: string): string | undefined {
  const cached = cache.get(code);
  if (cached !== undefined) return cached ?? undefined;
  const problem = validate(code);
  if (cache.size >= MAX_CACHED_UNITS) cache.clear();
  cache.set(code, problem ?? null);
  return problem;
}

function validate(code: string): string | undefined {
  if (code.trim() === '' || code !== code.trim())
    return `'${code}' is not a valid UCUM code (blank or padded)`;
  const answer = ucum().validateUnitString(code, false);
  if (isRecord(answer) && answer.status === 'valid' && answer.ucumCode === code) return undefined;
  const messages =
    isRecord(answer) && Array.isArray(answer.msg) ? answer.msg.filter((m) => typeof m === 'string') : [];
  if (isRecord(answer) && answer.status === 'valid') {
    // Valid only after ucum-lhc corrected it (`mg/dl` → `mg/dL`): a code must be exact.
    return `'${code}' is not a valid UCUM code; did you mean '${String(answer.ucumCode)}'?`;
  }
  return messages.length > 0 ? messages.join(' ') : `'${code}' is not a valid UCUM code`;
}

function ucum(): UcumValidator {
  if (validator !== undefined) return validator;
  const loaded: unknown = createRequire(import.meta.url)('@lhncbc/ucum-lhc');
  const utilities = isRecord(loaded) ? loaded.UcumLhcUtils : undefined;
  if (
    typeof utilities !== 'function' ||
    !('getInstance' in utilities) ||
    typeof utilities.getInstance !== 'function'
  ) {
    throw new Error('@lhncbc/ucum-lhc does not export UcumLhcUtils.getInstance');
  }
  const instance: unknown = utilities.getInstance();
  if (!isRecord(instance) || typeof instance.validateUnitString !== 'function') {
    throw new Error('@lhncbc/ucum-lhc has no validateUnitString');
  }
  const validateUnitString = instance.validateUnitString;
  validator = { validateUnitString: (unit, suggest) => validateUnitString.call(instance, unit, suggest) };
  return validator;
}
