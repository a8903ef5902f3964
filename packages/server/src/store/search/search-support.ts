/**
 * What the SQL search can answer today, in one place: the REST layer reports everything else as
 * an unsupported parameter (search.html#errors) and the CapabilityStatement lists only what is
 * accepted here, so neither can claim more than the store does.
 */
import {
  type IncludeDirective,
  ROW_SEARCH_PARAMETERS,
  type SearchFilter,
  type SearchParamType,
  type SortKey,
} from '@concordia/fhir';

/** Parameter types with an index table the SQL search queries (migrations 0001 and 0002). */
const INDEXED_TYPES: ReadonlySet<SearchParamType> = new Set([
  'token',
  'string',
  'reference',
  'date',
  'number',
  'uri',
]);

/** Whether a parameter of this code and type can be searched at all. */
export function isSearchableParameter(code: string, type: SearchParamType): boolean {
  return ROW_SEARCH_PARAMETERS.has(code) || INDEXED_TYPES.has(type);
}

/** Why the store cannot evaluate `filter`, or `undefined` when it can. */
export function unsupportedFilterReason(filter: SearchFilter): string | undefined {
  switch (filter.kind) {
    case 'token':
      if (filter.modifier === 'text') return 'the token modifier :text is not supported yet';
      if (filter.modifier === 'of-type') return 'the token modifier :of-type is not supported yet';
      return undefined;
    case 'terminology':
      return `the modifier :${filter.modifier} needs terminology services, which are not available yet`;
    case 'string':
    case 'reference':
      return undefined;
    case 'reference-identifier':
      return 'the reference modifier :identifier is not supported yet';
    case 'date':
    case 'number':
    case 'uri':
      return undefined;
    case 'quantity':
      return 'quantity parameters are not supported yet';
    case 'missing':
      return INDEXED_TYPES.has(filter.type) && !ROW_SEARCH_PARAMETERS.has(filter.code)
        ? undefined
        : `:missing is not supported on ${filter.type} parameter '${filter.code}'`;
    case 'chain':
    case 'has':
      return unsupportedFilterReason(filter.inner);
  }
}

const SORTABLE_TYPES: ReadonlySet<SearchParamType> = new Set(['string', 'token', 'date']);

/** Sort keys with a defined order (search.html#sort): the row's own columns, strings, tokens, dates. */
export function unsupportedSortReason(key: SortKey): string | undefined {
  if (ROW_SEARCH_PARAMETERS.has(key.code) || SORTABLE_TYPES.has(key.type)) return undefined;
  return `sorting by ${key.type} parameter '${key.code}' is not supported yet`;
}

export function unsupportedIncludeReason(include: IncludeDirective): string | undefined {
  return include.sourceType === '*' ? '_include=* is not supported; name the source type' : undefined;
}
