/**
 * The JSON key of a primitive element's id and extensions: `_birthDate` beside `birthDate`
 * (http://hl7.org/fhir/R4/json.html#primitive).
 *
 * Validation and indexing look this key up for every element of every resource written. A key
 * built on each lookup (`` value[`_${name}`] ``) is a new string that V8 must hash and find in its
 * string table before it can read the property, several times slower than a key it has seen; the
 * keys are kept here once built. Callers pass element names from the definitions, not from
 * client JSON, so the set stays as small as FHIR's vocabulary; the bound only guards a mistake.
 */
const keys = new Map<string, string>();
const MAX_KEPT = 20_000;

export function primitiveExtensionsKey(name: string): string {
  let key = keys.get(name);
  if (key === undefined) {
    key = `_${name}`;
    if (keys.size < MAX_KEPT) keys.set(name, key);
  }
  return key;
}
