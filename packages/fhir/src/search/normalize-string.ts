/**
 * The form string search compares in (http://hl7.org/fhir/R4/search.html#string: "case- and
 * accent-insensitive"). The indexer stores it and criteria are normalised the same way, so the
 * store compares like with like.
 */
export function normalizeString(value: string): string {
  // Lowercase before decomposing: 'İ'.toLowerCase() is 'i' + a combining dot, which NFD + the
  // mark strip then removes.
  return value.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/\s+/g, ' ').trim();
}
