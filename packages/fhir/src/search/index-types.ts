/**
 * What a resource contributes to the search index and to compartments, computed on write
 * (inside the write transaction) from the R4 SearchParameter definitions.
 * Every parameter type but composite and special is indexed (composite: not yet).
 */

/** One token value: `system|code` (http://hl7.org/fhir/R4/search.html#token). */
export interface TokenIndexEntry {
  param: string;
  system: string | null;
  code: string;
}

/** One string value, kept both as written and normalised (case- and accent-folded). */
export interface StringIndexEntry {
  param: string;
  value: string;
  normalized: string;
}

/** A reference held by a reference-typed search parameter (`Type/id` after resolution). */
export interface ReferenceIndexEntry {
  param: string;
  targetType: string;
  targetId: string;
}

/**
 * The instants a date value covers, inclusive, as ISO-8601 UTC with milliseconds
 * (http://hl7.org/fhir/R4/search.html#date); `-infinity`/`infinity` for an open Period.
 */
export interface DateIndexEntry {
  param: string;
  low: string;
  high: string;
}

/**
 * A number (http://hl7.org/fhir/R4/search.html#number) as decimal text, exactly as precise as
 * written, with the range it stands for: [low, high) for a decimal (± half its last digit),
 * low = high = value for the integer types, which are exact.
 */
export interface NumberIndexEntry {
  param: string;
  value: string;
  low: string;
  high: string;
}

/**
 * A Quantity-like value (http://hl7.org/fhir/R4/search.html#quantity): value and range as for
 * numbers (an open bound is `-Infinity`/`Infinity` when a comparator such as `<` says so), and,
 * for UCUM units, the same in canonical base units (`5400 ug` → `0.0054` `g`); canonical fields
 * are null when the unit is not UCUM or cannot be converted.
 */
export interface QuantityIndexEntry {
  param: string;
  value: string;
  low: string;
  high: string;
  system: string | null;
  code: string | null;
  unit: string | null;
  canonicalCode: string | null;
  canonicalValue: string | null;
  canonicalLow: string | null;
  canonicalHigh: string | null;
}

/** A uri, url, canonical, oid or uuid held by a uri parameter (search.html#uri). */
export interface UriIndexEntry {
  param: string;
  value: string;
}

export interface ResourceIndex {
  tokens: TokenIndexEntry[];
  strings: StringIndexEntry[];
  references: ReferenceIndexEntry[];
  /*
   * The value types below are optional so that an indexer covering only some types (the store's
   * test fake) stays valid; the store reads an absent list as empty. `indexResource` sets a list
   * only when it holds entries.
   */
  dates?: DateIndexEntry[];
  numbers?: NumberIndexEntry[];
  quantities?: QuantityIndexEntry[];
  uris?: UriIndexEntry[];
  /** Ids of the Patients whose compartment holds the resource (compartmentdefinition-patient). */
  patientCompartments: string[];
}
