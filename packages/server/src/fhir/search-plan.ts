/**
 * From a parsed search to what the store runs: drops what the store cannot evaluate (each one an
 * issue naming the parameter, search.html#errors) and applies the server's paging limits.
 */
import type { OutcomeIssue, SearchFilter, SearchQuery } from '@concordia/fhir';
import type { StoreSearch } from '../store/port.ts';
import {
  unsupportedFilterReason,
  unsupportedInContainedReason,
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

  const patient = options.compartment?.id ?? patientFilterId(query.filters);
  const contained = containedOf(query);
  const filters = query.filters
    .map((filter) => withPatient(filter, patient))
    .filter((filter) => {
      const reason =
        unsupportedFilterReason(filter) ??
        (contained === undefined ? undefined : unsupportedInContainedReason(filter));
      if (reason !== undefined) unsupported(filter.parameter, reason);
      return reason === undefined;
    });
  const sort = query.sort.filter((key) => {
    const reason =
      contained === undefined
        ? unsupportedSortReason(key, filters)
        : `_sort is not supported with _contained=${contained.mode}`;
    if (reason !== undefined) unsupported('_sort', reason);
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
      // search.html#total; `_summary=count` exists to get a total, so it always has one.
      total: countOnly && query.total !== 'estimate' ? 'accurate' : (query.total ?? 'none'),
      includes: query.includes,
      includeLimit: config.maxIncludes,
      ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
      ...(options.compartment !== undefined ? { compartment: options.compartment } : {}),
      ...(contained !== undefined ? { contained } : {}),
    },
    issues,
  };
}

/** search.html#contained; `_containedType` alone changes nothing, as no contained resource matches. */
function containedOf(query: SearchQuery): StoreSearch['contained'] {
  if (query.contained === undefined || query.contained === 'false') return undefined;
  return { mode: query.contained, type: query.containedType ?? 'container' };
}

/**
 * The patient a functional list belongs to (search.html#list,
 * `AllergyIntolerance?patient=42&_list=$current-allergies`): one `patient` reference to a Patient.
 */
function patientFilterId(filters: readonly SearchFilter[]): string | undefined {
  const ids = filters.flatMap((filter) =>
    filter.kind === 'reference' && filter.code === 'patient' && filter.values.length === 1
      ? filter.values.filter((value) => value.type === undefined || value.type === 'Patient').map((v) => v.id)
      : [],
  );
  const [only] = ids;
  return ids.length === 1 ? only : undefined;
}

function withPatient(filter: SearchFilter, patient: string | undefined): SearchFilter {
  if (filter.kind !== 'list' || patient === undefined) return filter;
  return {
    ...filter,
    values: filter.values.map((value) => (value.kind === 'functional' ? { ...value, patient } : value)),
  };
}
