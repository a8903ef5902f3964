/**
 * From a parsed search to what the store runs: drops what the store cannot evaluate (each one an
 * issue naming the parameter, search.html#errors) and applies the server's paging limits.
 */
import type { OutcomeIssue, SearchQuery } from '@concordia/fhir';
import type { StoreSearch } from '../store/port.ts';
import {
  unsupportedFilterReason,
  unsupportedIncludeReason,
  unsupportedSortReason,
} from '../store/search/search-support.ts';
import type { CoreConfig } from './interaction-env.ts';

export interface SearchPlan {
  store: StoreSearch;
  issues: OutcomeIssue[];
}

export function planSearch(
  query: SearchQuery,
  config: CoreConfig,
  options: { cursor?: string; compartment?: StoreSearch['compartment'] },
): SearchPlan {
  const issues: OutcomeIssue[] = [];
  const unsupported = (parameter: string, reason: string) =>
    issues.push({
      severity: 'error',
      code: 'not-supported',
      diagnostics: `${parameter}: ${reason}`,
      expression: [parameter],
    });

  const filters = query.filters.filter((filter) => {
    const reason = unsupportedFilterReason(filter);
    if (reason !== undefined) unsupported(filter.parameter, reason);
    return reason === undefined;
  });
  const sort = query.sort.filter((key) => {
    const reason = unsupportedSortReason(key);
    if (reason !== undefined) unsupported('_sort', reason);
    return reason === undefined;
  });
  const includes = query.includes.filter((include) => {
    const reason = unsupportedIncludeReason(include);
    if (reason !== undefined) unsupported(include.reverse ? '_revinclude' : '_include', reason);
    return reason === undefined;
  });
  const countOnly = query.summary === 'count';
  const count = countOnly ? 0 : Math.min(query.count ?? config.defaultPageSize, config.maxPageSize);
  return {
    store: {
      resourceTypes: query.resourceTypes,
      allTypes: query.allTypes,
      filters,
      sort,
      count,
      // search.html#total: `estimate` is answered exactly for now; an estimate may come later.
      total: countOnly || query.total === 'accurate' || query.total === 'estimate',
      includes,
      ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
      ...(options.compartment !== undefined ? { compartment: options.compartment } : {}),
    },
    issues,
  };
}
