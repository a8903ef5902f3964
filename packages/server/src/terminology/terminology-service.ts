/**
 * The terminology service (http://hl7.org/fhir/R4/terminology-service.html) as the rest of the
 * server uses it: the FHIR operations ($lookup, $validate-code, $subsumes, $expand, $translate),
 * the token search modifiers `:in`, `:not-in`, `:above`, `:below`, the validator's binding checks
 * and the master-data rules on write all ask this one interface. It answers from the concept
 * tables the importers fill and from stored CodeSystem/ValueSet/ConceptMap resources.
 */
import type { RequestContext } from '../access/request-context.ts';

export interface CodingInput {
  system?: string;
  version?: string;
  code: string;
  display?: string;
}

export interface LookupResult {
  system: string;
  version: string;
  code: string;
  display?: string;
  name: string;
  active: boolean;
  /** Direct parents and children (codesystem-operation-lookup.html `property` parent/child). */
  parents: readonly string[];
  children: readonly string[];
  designations: readonly { language?: string; use?: CodingInput; value: string }[];
  properties: readonly { code: string; value: unknown }[];
}

/** The `Parameters` of $validate-code (valueset-operation-validate-code.html) as data. */
export interface ValidateCodeResult {
  result: boolean;
  /** Why not, or a warning (a display that does not match). */
  message?: string;
  display?: string;
  /** The code is known but retired/inactive. */
  inactive?: boolean;
}

/** codesystem-operation-subsumes.html `outcome`. */
export type SubsumptionOutcome = 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed';

export interface ExpandRequest {
  /** A stored ValueSet's canonical URL (`url|version` allowed) or the ValueSet itself. */
  valueSet: string | Record<string, unknown>;
  /** Text filter (valueset-operation-expand.html `filter`), case- and accent-insensitive. */
  filter?: string;
  offset?: number;
  count?: number;
  /** Language of `display` (`displayLanguage`). */
  displayLanguage?: string;
  activeOnly?: boolean;
}

export interface ExpansionContains {
  system: string;
  version?: string;
  code: string;
  display?: string;
  inactive?: boolean;
  /** A grouping code not meant to be recorded (`selectable` false: ICD-10 chapters and blocks). */
  abstract?: boolean;
}

export interface Expansion {
  /** How many codes the whole expansion holds (before offset/count). */
  total: number;
  offset: number;
  contains: readonly ExpansionContains[];
  /** When the expansion was computed (it may be served from the cache). */
  timestamp: string;
}

export interface TranslateRequest {
  /** A stored ConceptMap's URL; absent: every map between `coding.system` and `targetSystem`. */
  conceptMap?: string;
  coding: CodingInput;
  targetSystem?: string;
  /** Translate from target to source where the map's equivalences allow. */
  reverse?: boolean;
}

export interface TranslationMatch {
  equivalence: string;
  concept: CodingInput;
  source: string;
}

export interface TerminologyService {
  lookup(ctx: RequestContext, coding: CodingInput, date?: string): Promise<LookupResult | undefined>;
  /** Against a code system (`valueSet` absent) or a value set (URL or resource). */
  validateCode(
    ctx: RequestContext,
    coding: CodingInput,
    valueSet?: string | Record<string, unknown>,
  ): Promise<ValidateCodeResult>;
  subsumes(
    ctx: RequestContext,
    system: string,
    codeA: string,
    codeB: string,
    version?: string,
  ): Promise<SubsumptionOutcome>;
  expand(ctx: RequestContext, request: ExpandRequest): Promise<Expansion>;
  translate(ctx: RequestContext, request: TranslateRequest): Promise<readonly TranslationMatch[]>;
  /**
   * For the token search modifiers (search.html#token): the codes of `system` that `code`
   * subsumes (`below`, itself included) or that subsume it (`above`), and the (system, code)
   * pairs of a value set (`in`). Bounded: a set larger than `limit` is reported as too costly.
   */
  codesBelow(ctx: RequestContext, system: string, code: string, limit: number): Promise<readonly string[]>;
  codesAbove(ctx: RequestContext, system: string, code: string, limit: number): Promise<readonly string[]>;
  valueSetCodes(
    ctx: RequestContext,
    valueSet: string,
    limit: number,
  ): Promise<readonly { system: string; code: string }[]>;
}
