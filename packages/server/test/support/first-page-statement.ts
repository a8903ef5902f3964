/**
 * A search given as `Type?query`, and the statement of its first page in the default order as the
 * store builds it (run-search.ts `searchStatements`): for reading PostgreSQL plans, in the plan
 * tests (store/search-plans.test.ts) and in scripts/explain-search.ts. `_sort` and `_contained`
 * are not followed: both take other statements.
 */
import { normalizeString, type OutcomeIssue, parseSearch } from '@concordia/fhir';
import type { StoreSearch } from '../../src/store/port.ts';
import {
  indexMatches,
  indexPageStatement,
  matchConditions,
  pageStatement,
} from '../../src/store/search/search-statement.ts';
import type { Sql } from '../../src/store/sql.ts';

export interface FirstPageSearch {
  search: StoreSearch;
  /** What the parser refused (search.html#errors); the search is built from the rest. */
  issues: OutcomeIssue[];
}

export function firstPageSearch(resourceType: string, query: string): FirstPageSearch {
  const { query: parsed, issues } = parseSearch({ resourceType, pairs: [...new URLSearchParams(query)] });
  const search: StoreSearch = {
    resourceTypes: [resourceType],
    allTypes: false,
    filters: parsed.filters,
    sort: [],
    count: 20,
    total: 'none',
    includes: parsed.includes,
    includeLimit: 1000,
  };
  return { search, issues };
}

/** One row more than the page, as the store reads it to know whether a next page exists. */
export function firstPageStatement(search: StoreSearch): Sql {
  const now = Date.now();
  const indexed = indexMatches(search, normalizeString, now, undefined);
  return indexed === undefined
    ? pageStatement(matchConditions(search, normalizeString, now), [], undefined, search.count + 1)
    : indexPageStatement(indexed, undefined, search.count + 1);
}
