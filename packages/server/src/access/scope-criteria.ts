/**
 * The search criteria of a SMART v2 query-restricted scope (scopes-and-launch-context.html,
 * "Finer-grained resource constraints using search parameters"): `patient/Observation.rs?category=
 * laboratory` covers exactly the Observations that `Observation?category=laboratory` matches. The
 * criteria are parsed with the server's own search parser and compiled with the store's own filter
 * SQL (store/search/filter-sql.ts, by scope-row-filter.ts), so a scope and a search with the same
 * parameters can never disagree about which resources match. This module only parses: the token's
 * scopes are parsed where every request is authenticated, which must not depend on the store.
 *
 * Only criteria that test the resource itself are accepted: a chain or `_has` would make a row's
 * visibility hang on other rows (which have their own access decision), `_list` on a List, a
 * terminology modifier on a service that may be absent; result parameters (`_sort`, `_count`,
 * `_include`…) are not criteria at all. A scope with any other criterion is not a scope
 * (smart-scopes.ts refuses to parse it), so it is never granted and, in a token issued before,
 * grants nothing.
 */
import { parseSearch, r4SearchParameters, type SearchFilter } from '@concordia/fhir';

/** The filter kinds a scope may restrict by: each tests the resource's own index rows. */
const SELF_CONTAINED_KINDS: ReadonlySet<SearchFilter['kind']> = new Set([
  'token',
  'string',
  'reference',
  'reference-identifier',
  'date',
  'number',
  'quantity',
  'uri',
  'missing',
  'composite',
  'text',
]);

export type ScopeCriteria = { filters: readonly SearchFilter[] } | { problem: string };

/** The scope query `pairs` on `resourceType` (`*`: every type) as search filters, or why not. */
export function parseScopeCriteria(
  resourceType: string,
  pairs: readonly (readonly [string, string])[],
): ScopeCriteria {
  const registry = r4SearchParameters();
  if (resourceType !== '*' && !registry.isResourceType(resourceType)) {
    return { problem: `${resourceType} is not a resource type` };
  }
  const { query, issues } = parseSearch(resourceType === '*' ? { pairs } : { resourceType, pairs }, registry);
  const [issue] = issues;
  if (issue !== undefined) return { problem: issue.diagnostics ?? 'the criteria are not a valid search' };
  // Every pair must have become a filter: `_sort`, `_count`, `_format`, `_type`… are not criteria.
  if (query.filters.length !== pairs.length) {
    return { problem: 'only search criteria may restrict a scope, not result or format parameters' };
  }
  for (const filter of query.filters) {
    if (!SELF_CONTAINED_KINDS.has(filter.kind)) {
      return { problem: `${filter.parameter} cannot restrict a scope: it does not test the resource alone` };
    }
    // A column of the resource row, not an index row: versions could not be judged by it.
    if (filter.code === '_lastUpdated') {
      return { problem: '_lastUpdated cannot restrict a scope: it says when, not what, was written' };
    }
  }
  return { filters: query.filters };
}
