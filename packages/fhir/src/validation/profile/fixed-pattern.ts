/**
 * fixed[x] and pattern[x] (http://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.fixed_x_):
 * a fixed value must be matched exactly; a pattern only in the properties it states, and for a
 * repeating property each pattern item must match some item of the value.
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decimals compare by value (`1.0` written as 1 is the same number in JSON). */
export function exactlyEqual(value: unknown, fixed: unknown): boolean {
  if (Array.isArray(fixed)) {
    return (
      Array.isArray(value) &&
      value.length === fixed.length &&
      fixed.every((f, i) => exactlyEqual(value[i], f))
    );
  }
  if (isObject(fixed)) {
    if (!isObject(value)) return false;
    const keys = Object.keys(fixed);
    return (
      keys.length === Object.keys(value).length && keys.every((key) => exactlyEqual(value[key], fixed[key]))
    );
  }
  return value === fixed;
}

export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return pattern.every((p) => items.some((item) => matchesPattern(item, p)));
  }
  if (isObject(pattern)) {
    if (Array.isArray(value)) return value.some((item) => matchesPattern(item, pattern));
    if (!isObject(value)) return false;
    return Object.keys(pattern).every((key) => matchesPattern(value[key], pattern[key]));
  }
  if (Array.isArray(value)) return value.some((item) => item === pattern);
  return value === pattern;
}

/** A short rendering of a fixed or pattern value for a diagnostic. */
export function describeValue(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 120 ? `${json.slice(0, 120)}…` : json;
}
