/**
 * The neutral form every terminology importer produces (ClaML, ICD-10-CM tabular and order file,
 * ICPC-2 CSV/JSON, LOINC CSV, SNOMED CT RF2, FHIR CodeSystem JSON) and the loader writes into the
 * concept tables: a code system's header, then its concepts as a stream, so that a release of
 * 100,000+ concepts never has to sit in memory as one array.
 */

/** A CodeSystem's identity and metadata (http://hl7.org/fhir/R4/codesystem.html). */
export interface CodeSystemHeader {
  /** Canonical URL, e.g. `http://hl7.org/fhir/sid/icd-10`, `http://hl7.org/fhir/sid/icd-10-cm`. */
  url: string;
  /** The release, e.g. `2019`, `2021`; loading another version keeps the earlier one. */
  version: string;
  /** Computer-friendly name (`ICD10CM`). */
  name: string;
  title?: string;
  publisher?: string;
  /** Language of the concepts' `display` (BCP 47), e.g. `en`, `nb`. */
  language?: string;
  /** `is-a` when parents subsume their children (ICD-10, ICPC-2, SNOMED CT). */
  hierarchyMeaning?: 'is-a' | 'grouped-by' | 'part-of' | 'classified-with';
  /** Property definitions the concepts use (codesystem-definitions.html#CodeSystem.property). */
  properties?: readonly { code: string; type: ConceptPropertyValue['type']; description?: string }[];
}

export interface ConceptDesignation {
  language?: string;
  /** SNOMED CT/LOINC designation use as a Coding (system|code), e.g. fully specified name. */
  use?: { system?: string; code: string; display?: string };
  value: string;
}

export type ConceptPropertyValue =
  | { type: 'code'; value: string }
  | { type: 'string'; value: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'dateTime'; value: string }
  | { type: 'Coding'; value: { system?: string; code: string; display?: string } };

export interface ConceptRecord {
  code: string;
  display?: string;
  definition?: string;
  /** Codes of the parents in the same code system (several for SNOMED CT); none for a root. */
  parents: readonly string[];
  designations?: readonly ConceptDesignation[];
  properties?: readonly { code: string; value: ConceptPropertyValue }[];
  /** `false` for retired/inactive codes: still known (lookup says so), never valid in new data. */
  active?: boolean;
  /** `false` for grouping codes that are not meant to be recorded (ICD-10 chapters and blocks). */
  selectable?: boolean;
}

/** One code system as an importer reads it. */
export interface CodeSystemContent {
  header: CodeSystemHeader;
  /** Concepts in any order; a parent may come after its children. */
  concepts: AsyncIterable<ConceptRecord>;
}

/** One ConceptMap group element as an importer reads it (conceptmap.html). */
export interface ConceptMapping {
  source: { system: string; version?: string; code: string; display?: string };
  target?: { system: string; version?: string; code: string; display?: string };
  /** R4 ConceptMapEquivalence: equivalent, wider, narrower, inexact, unmatched, … */
  equivalence: string;
  comment?: string;
}

export interface ConceptMapContent {
  url: string;
  version: string;
  name: string;
  title?: string;
  sourceValueSet?: string;
  targetValueSet?: string;
  mappings: AsyncIterable<ConceptMapping>;
}
