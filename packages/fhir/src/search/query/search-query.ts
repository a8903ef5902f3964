/**
 * The search IR: what a FHIR search request (http://hl7.org/fhir/R4/search.html) asks for, once
 * parsed and checked against the search parameter registry, independent of how a store answers it.
 * Filters are ANDed; the values inside one filter are ORed (search.html#combining).
 */
import type { SummaryMode } from '../../shaping/summary.ts';
import type { SearchParamType } from '../search-parameters.ts';

/** search.html#prefix */
export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

/** `system|code`, `|code` (`system: null`: no system), `system|` (any code), `code` (any system). */
export interface TokenValue {
  system?: string | null;
  code?: string;
}

/** search.html#modifiers on token parameters that only need the index. */
export type TokenModifier = 'not' | 'text' | 'of-type';

/**
 * `identifier:of-type=system|code|value` (search.html#modifiers): an Identifier whose
 * `type.coding` has this system and code, and whose `value` is `value`. All three are required.
 */
export interface IdentifierOfTypeValue {
  system: string;
  code: string;
  value: string;
}

/** Modifiers that need a terminology server: parsed so a terminology hook can take them over. */
export type TerminologyModifier = 'in' | 'not-in' | 'above' | 'below';

/** One code of a resolved terminology filter: a code system's URL and a code of it. */
export interface CodeSetMember {
  system: string;
  code: string;
}

/** A date value as the half-open instant range its precision covers (search.html#date). */
export interface DateValue {
  prefix: Prefix;
  /** Inclusive lower bound, ISO instant. */
  low: string;
  /** Exclusive upper bound, ISO instant. */
  high: string;
  /** As written, for messages and cursors. */
  text: string;
}

/** A number as the range its significant digits cover (search.html#number): 100 is [99.5, 100.5). */
export interface NumberValue {
  prefix: Prefix;
  value: string;
  low: string;
  high: string;
}

export interface QuantityValue extends NumberValue {
  system?: string;
  code?: string;
}

/** A reference value (search.html#reference): `Type/id`, `id`, or an absolute URL. */
export interface ReferenceValue {
  /** From the value (`Patient/1`) or the `:Type` modifier; absent for a bare id. */
  type?: string;
  id: string;
  /** The absolute URL as written, when it was one. */
  url?: string;
}

/**
 * A full-text query of `_text` or `_content` (search.html#text): words ANDed, `OR`, `AND`,
 * parentheses, "quoted phrases" and `word*` prefixes (text-query.ts). Words are as written;
 * the store folds them like the index.
 */
export type TextQuery =
  | { kind: 'word'; text: string; prefix: boolean }
  | { kind: 'phrase'; text: string }
  | { kind: 'and' | 'or'; operands: TextQuery[] };

/**
 * A list `_list` names (search.html#list): a List resource by id, or a functional list of the
 * patient in context (lifecycle.html#lists), which the server finds as that patient's current List
 * with the matching code.
 */
export type ListValue =
  | { kind: 'id'; id: string }
  | {
      kind: 'functional';
      name: FunctionalListName;
      /** The patient in context; the caller fills it in from the compartment or a patient filter. */
      patient?: string;
    };

export type FunctionalListName = 'current-allergies' | 'current-problems' | 'current-medications';

/**
 * One component of a composite value (`8480-6$lt60`, search.html#composite): a value of the type
 * of the parameter the component names, parsed as that type is. Strings are as written (the store
 * folds them); composite components take no modifiers.
 */
export type CompositeComponentValue =
  | { type: 'token'; value: TokenValue }
  | { type: 'number'; value: NumberValue }
  | { type: 'quantity'; value: QuantityValue }
  | { type: 'date'; value: DateValue }
  | { type: 'string'; value: string }
  | { type: 'reference'; value: ReferenceValue }
  | { type: 'uri'; value: string };

/** A composite value: a token, then a value, then optionally a number (composite-components.ts). */
export interface CompositeValue {
  components: CompositeComponentValue[];
}

/**
 * `near=latitude|longitude|distance|unit` (search.html#special, SearchParameter Location-near):
 * WGS84 degrees and the radius of the circle around them, in metres.
 */
export interface NearValue {
  latitude: number;
  longitude: number;
  radiusMetres: number;
}

interface FilterBase {
  /** The parameter as written (`subject:Patient.name:exact`), named in issues. */
  parameter: string;
  /** The parameter code on the resource type it applies to (`name`). */
  code: string;
}

export type SearchFilter =
  | (FilterBase & { kind: 'token'; modifier?: 'not'; values: TokenValue[] })
  /** `:text`: string search (starts-with, case- and accent-folded) on the code's or type's text. */
  | (FilterBase & { kind: 'token'; modifier: 'text'; values: string[] })
  | (FilterBase & { kind: 'token'; modifier: 'of-type'; values: IdentifierOfTypeValue[] })
  | (FilterBase & { kind: 'terminology'; modifier: TerminologyModifier; values: string[] })
  /**
   * A `terminology` filter once the server's terminology service resolved it (search.html#token):
   * a resource matches when some coding of the parameter is one of `codes`, or — `negate`, for
   * `:not-in` — when none is (resources without a value included, as `:not`).
   */
  | (FilterBase & {
      kind: 'code-set';
      modifier: TerminologyModifier;
      negate: boolean;
      codes: readonly CodeSetMember[];
    })
  | (FilterBase & { kind: 'string'; match: 'starts-with' | 'exact' | 'contains'; values: string[] })
  | (FilterBase & { kind: 'reference'; values: ReferenceValue[] })
  | (FilterBase & { kind: 'reference-identifier'; values: TokenValue[] })
  | (FilterBase & { kind: 'date'; values: DateValue[] })
  | (FilterBase & { kind: 'number'; values: NumberValue[] })
  | (FilterBase & { kind: 'quantity'; values: QuantityValue[] })
  | (FilterBase & { kind: 'uri'; match: 'equals' | 'above' | 'below'; values: string[] })
  | (FilterBase & { kind: 'missing'; type: SearchParamType; missing: boolean })
  /** `code-value-quantity=http://loinc.org|8480-6$lt60` (search.html#composite). */
  | (FilterBase & { kind: 'composite'; values: CompositeValue[] })
  /** `near=42.25|-83.69|10|km`: a special parameter with xpathUsage `nearby` (search.html#special). */
  | (FilterBase & { kind: 'near'; values: NearValue[] })
  /** `_text` (narrative) and `_content` (every string): search.html#text, #content. */
  | (FilterBase & { kind: 'text'; field: 'narrative' | 'content'; values: TextQuery[] })
  /** `_list=42`, `_list=$current-allergies` (search.html#list). */
  | (FilterBase & { kind: 'list'; values: ListValue[] })
  /** `subject:Patient.name=x` (search.html#chaining): `code` is the reference parameter. */
  | (FilterBase & { kind: 'chain'; targetTypes: string[]; inner: SearchFilter })
  /** `_has:Observation:patient:code=x` (search.html#has): `code` is `referenceParam`. */
  | (FilterBase & { kind: 'has'; sourceType: string; referenceParam: string; inner: SearchFilter });

export interface SortKey {
  /** A parameter code (`_id`, `_lastUpdated`, `family`, `birthdate`…). */
  code: string;
  type: SearchParamType;
  descending: boolean;
}

/** `_include=Observation:subject:Patient` or `_revinclude=Provenance:target` (search.html#include). */
export interface IncludeDirective {
  reverse: boolean;
  iterate: boolean;
  sourceType: string;
  /** Reference parameter on `sourceType`; `*` means every reference parameter. */
  param: string;
  targetType?: string;
}

export type TotalMode = 'none' | 'estimate' | 'accurate';

/** `_contained` (search.html#contained): `false` matches no contained resource, `true` only them. */
export type ContainedMode = 'false' | 'true' | 'both';

/** `_containedType`: a matching contained resource is returned as its container, or alone. */
export type ContainedType = 'container' | 'contained';

export interface SearchQuery {
  /** The types searched: one for type search, `_type` (or every type) for system search. */
  resourceTypes: string[];
  /** `true` when a system search had no `_type`: every resource type. */
  allTypes: boolean;
  filters: SearchFilter[];
  sort: SortKey[];
  /** `_count` as asked; the caller clamps it to its configured maximum. */
  count?: number;
  total?: TotalMode;
  summary?: SummaryMode;
  elements?: string[];
  includes: IncludeDirective[];
  /** Absent: `false`, the default. */
  contained?: ContainedMode;
  /** Absent: `container`, the default. */
  containedType?: ContainedType;
}
