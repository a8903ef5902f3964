/**
 * The form string search compares in (http://hl7.org/fhir/R4/search.html#string: "case- and
 * accent-insensitive"). The indexer stores it and criteria are normalised the same way, so the
 * store compares like with like.
 */
export function normalizeString(value: string): string {
  // ASCII has nothing to decompose and no marks: skipping both is the same result, and most text
  // indexed on a write (the whole resource's, for `_content`) is ASCII.
  if (!NON_ASCII.test(value)) return value.toLowerCase().replace(/\s+/g, ' ').trim();
  // Lowercase before decomposing: 'İ'.toLowerCase() is 'i' + a combining dot, which NFD + the
  // mark strip then removes.
  return value.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/\s+/g, ' ').trim();
}

const NON_ASCII = /[\u0080-\uffff]/;
