/**
 * What a resource contributes to the search index and to compartments, computed on write
 * (inside the write transaction) from the R4 SearchParameter definitions.
 * Every parameter type is indexed; of the special ones, the `nearby` kind (Location `near`).
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

/**
 * The words `_text` and `_content` search (http://hl7.org/fhir/R4/search.html#text, #content),
 * already case- and accent-folded (normalizeString) because the store's text-search
 * configuration is the language-neutral `simple` one, without unaccent.
 */
export interface TextIndexEntry {
  /** `text.div` with its markup removed; absent when the resource has no narrative. */
  narrative?: string;
  /** Every string and number of the resource, the narrative's text included. */
  content: string;
}

/*
 * Modifiers that search another element than the parameter's own value keep their rows in the
 * existing tables under a derived parameter name. A parameter code never holds `:`, so `:missing`
 * and `_sort` on the plain code (which compare `param = code`) never see these rows.
 */

/** token `:text` rows in search_string: CodeableConcept.text, Coding.display, Identifier.type.text. */
export function tokenTextParam(code: string): string {
  return `${code}:text`;
}

/**
 * token `:of-type` rows in search_token: system = an `Identifier.type.coding.system`, code =
 * `identifierOfTypeCode(that coding's code, Identifier.value)`.
 */
export function identifierOfTypeParam(code: string): string {
  return `${code}:of-type`;
}

/** reference `:identifier` rows in search_token: `Reference.identifier` as system|value. */
export function referenceIdentifierParam(code: string): string {
  return `${code}:identifier`;
}

/**
 * The rows of a contained resource (search.html#contained) are its container's, under
 * `#<local id>:<param>`: a local id holds no `:` and a parameter code no `#`, so no plain
 * parameter's search sees them, and the search of `_contained` computes the same name from the
 * `search_contained` row (store/search/search-scope.ts).
 */
export function containedParam(localId: string, param: string): string {
  return `#${localId}:${param}`;
}

/**
 * One `search_token` row per contained resource, under this parameter name: system = its type,
 * code = its local id. No SearchParameter code starts with `_` but the spec's own, and the spec
 * has no `_contained` parameter (it is a result parameter), so the rows answer no other search.
 */
export const CONTAINED_RESOURCE_PARAM = '_contained';

/**
 * `typeCode|value`, with `\` and `|` in the type code escaped, so the first unescaped `|` is the
 * only place the two can be told apart: `a|b` + `c` and `a` + `b|c` stay distinct.
 */
export function identifierOfTypeCode(typeCode: string, value: string): string {
  return `${typeCode.replace(/[\\|]/g, (character) => `\\${character}`)}|${value}`;
}

/**
 * The second component of a composite row, by the type of its parameter: the fields its search
 * compares, as in the entry of that type (numbers as decimal text, instants as ISO text).
 */
export type CompositeValueEntry =
  | { type: 'token'; system: string | null; code: string }
  | { type: 'number'; value: string; low: string; high: string }
  | ({ type: 'quantity' } & Omit<QuantityIndexEntry, 'param'>)
  | { type: 'date'; low: string; high: string }
  | { type: 'string'; normalized: string }
  | { type: 'reference'; targetType: string; targetId: string }
  | { type: 'uri'; value: string };

/**
 * One combination of component values of a composite parameter, all taken from the same item
 * (one `Observation.component`, one `useContext`) — http://hl7.org/fhir/R4/search.html#composite.
 * The first component is a token; see composite-components.ts for the shapes indexed.
 */
export interface CompositeIndexEntry {
  param: string;
  system: string | null;
  code: string;
  value: CompositeValueEntry;
  /** A third component, a number (MolecularSequence coordinates), as decimal text. */
  third?: string;
}

/** A WGS84 position (Location.position) for `near` (search.html#special), in decimal degrees. */
export interface PositionIndexEntry {
  param: string;
  latitude: number;
  longitude: number;
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
  texts?: TextIndexEntry;
  composites?: CompositeIndexEntry[];
  positions?: PositionIndexEntry[];
  /** Ids of the Patients whose compartment holds the resource (compartmentdefinition-patient). */
  patientCompartments: string[];
}
