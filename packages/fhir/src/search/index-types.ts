/**
 * What a resource contributes to the search index and to compartments, computed on write
 * (inside the write transaction) from the R4 SearchParameter definitions.
 * This issue indexes token and string parameters and the Patient compartment; the search issue
 * adds the remaining parameter types to the same `ResourceIndex`.
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

export interface ResourceIndex {
  tokens: TokenIndexEntry[];
  strings: StringIndexEntry[];
  references: ReferenceIndexEntry[];
  /** Ids of the Patients whose compartment holds the resource (compartmentdefinition-patient). */
  patientCompartments: string[];
}

/** A parsed search criterion that the store can evaluate against the index. */
export type Criterion =
  | { kind: 'id'; values: string[] }
  | { kind: 'token'; param: string; values: TokenMatch[] }
  /**
   * `exact` values are as written and compare with `StringIndexEntry.value`; `starts-with` and
   * `contains` values are already `normalizeString`d and compare with `StringIndexEntry.normalized`.
   */
  | { kind: 'string'; param: string; mode: 'starts-with' | 'exact' | 'contains'; values: string[] };

/** `system|code`, `|code` (system must be absent), `system|` (any code), or `code` (any system). */
export interface TokenMatch {
  system?: string | null;
  code?: string;
}
