/**
 * A search request (http://hl7.org/fhir/R4/search.html) as the search IR plus the issues found:
 * unknown and malformed parameters do not throw; the caller applies `Prefer: handling`
 * (search.html#errors) — strict fails on the first issue, lenient reports them and goes on.
 */
import { FhirError, type OutcomeIssue } from '../../outcome.ts';
import { r4SearchParameters, type SearchParameterRegistry } from '../search-parameters.ts';
import { LIST_PARAMETER } from './list-filter.ts';
import { malformed } from './parameter-issue.ts';
import { parseFilter } from './parse-filter.ts';
import { applyResultParameter, RESULT_PARAMETERS } from './result-parameters.ts';
import type { SearchFilter, SearchQuery } from './search-query.ts';

/** Parameters every FHIR interaction accepts; they say how to answer, not what (http.html#parameters). */
const FORMAT_PARAMETERS: ReadonlySet<string> = new Set(['_format', '_pretty', '_cursor']);

export interface SearchRequestPairs {
  /** The type searched; absent for a system search (`GET [base]?_type=…`). */
  resourceType?: string;
  /** Decoded query (and form body) pairs, in order, repeats kept. */
  pairs: readonly (readonly [string, string])[];
}

export interface ParsedSearch {
  query: SearchQuery;
  issues: OutcomeIssue[];
}

export function parseSearch(
  request: SearchRequestPairs,
  registry: SearchParameterRegistry = r4SearchParameters(),
): ParsedSearch {
  const issues: OutcomeIssue[] = [];
  const collect = (work: () => void) => {
    try {
      work();
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      issues.push(...error.issues);
    }
  };
  const typeNames = resourceTypesOf(request, registry, collect);
  const query: SearchQuery = {
    resourceTypes: typeNames.types,
    allTypes: typeNames.all,
    filters: [],
    sort: [],
    includes: [],
  };
  // Parameters defined on Resource apply to every type; a system search without `_type` uses them.
  const filterTypes = typeNames.all ? ['Resource'] : typeNames.types;
  for (const [name, value] of request.pairs) {
    const code = name.split(':')[0] ?? '';
    if (FORMAT_PARAMETERS.has(code) || code === '_type') continue;
    if (RESULT_PARAMETERS.has(code)) {
      collect(() => applyResultParameter(registry, sortTypes(typeNames), name, value, query));
      continue;
    }
    collect(() => query.filters.push(filterOnEvery(registry, filterTypes, name, value)));
  }
  return { query, issues };
}

function resourceTypesOf(
  request: SearchRequestPairs,
  registry: SearchParameterRegistry,
  collect: (work: () => void) => void,
): { types: string[]; all: boolean } {
  if (request.resourceType !== undefined) return { types: [request.resourceType], all: false };
  const types: string[] = [];
  for (const [name, value] of request.pairs) {
    if (name !== '_type') continue;
    for (const type of value.split(',')) {
      collect(() => {
        if (!registry.isResourceType(type)) throw malformed('_type', `'${type}' is not a resource type`);
        if (!types.includes(type)) types.push(type);
      });
    }
  }
  return types.length === 0 ? { types: [], all: true } : { types, all: false };
}

function sortTypes(typeNames: { types: string[]; all: boolean }): string[] {
  return typeNames.all ? [RESOURCE_LEVEL_TYPE] : typeNames.types;
}

/** On several types (`_type=A,B`) a parameter must exist, with the same meaning, on each. */
function filterOnEvery(
  registry: SearchParameterRegistry,
  types: readonly string[],
  name: string,
  value: string,
): SearchFilter {
  let first: SearchFilter | undefined;
  for (const type of types) {
    const filter =
      type === 'Resource' ? commonFilter(registry, name, value) : parseFilter(registry, type, name, value);
    if (first !== undefined && filter.kind !== first.kind) {
      throw malformed(name, `'${name}' means different things on ${types.join(', ')}`);
    }
    first ??= filter;
  }
  if (first === undefined) throw malformed(name, `'${name}' needs a resource type`);
  return first;
}

/**
 * `Parameters` derives from Resource alone, so the parameters it has are exactly the ones every
 * resource type has (`_id`, `_lastUpdated`, `_tag`…).
 */
const RESOURCE_LEVEL_TYPE = 'Parameters';

function commonFilter(registry: SearchParameterRegistry, name: string, value: string): SearchFilter {
  const code = name.split(/[:.]/)[0] ?? '';
  // `_list` has no SearchParameter in R4 but applies to every type (search.html#list).
  if (code !== LIST_PARAMETER && registry.get(RESOURCE_LEVEL_TYPE, code) === undefined) {
    throw malformed(name, `'${code}' is not a parameter of every resource type; add _type`);
  }
  return parseFilter(registry, RESOURCE_LEVEL_TYPE, name, value);
}
