/**
 * What the SQL search can answer today, in one place: the REST layer reports everything else as
 * an unsupported parameter (search.html#errors) and the CapabilityStatement lists only what is
 * accepted here, so neither can claim more than the store does.
 */
import {
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
  'quantity',
  'uri',
  // search_composite and search_position (0003). Special means `near`: the only special
  // parameter of R4; parseFilter refuses any special parameter that is not `nearby`.
  'composite',
  'special',
]);

/** Whether a parameter of this code and type can be searched at all. */
export function isSearchableParameter(code: string, type: SearchParamType): boolean {
  return ROW_SEARCH_PARAMETERS.has(code) || INDEXED_TYPES.has(type);
}

/** Why the store cannot evaluate `filter`, or `undefined` when it can. */
export function unsupportedFilterReason(filter: SearchFilter): string | undefined {
  switch (filter.kind) {
    case 'token':
      // `_id` is answered from the resource row, which has no texts or identifier types.
      return filter.modifier !== undefined &&
        filter.modifier !== 'not' &&
        ROW_SEARCH_PARAMETERS.has(filter.code)
        ? `the modifier :${filter.modifier} is not defined for '${filter.code}'`
        : undefined;
    case 'terminology':
      // Reaches the store only when no terminology service resolved it (fhir/terminology-filters.ts).
      return `the modifier :${filter.modifier} needs terminology services, which are not available yet`;
    case 'code-set':
      return undefined;
    case 'string':
    case 'reference':
    case 'reference-identifier':
      return undefined;
    case 'date':
    case 'number':
    case 'quantity':
    case 'uri':
      return undefined;
    case 'missing':
      return INDEXED_TYPES.has(filter.type) && !ROW_SEARCH_PARAMETERS.has(filter.code)
        ? undefined
        : `:missing is not supported on ${filter.type} parameter '${filter.code}'`;
    case 'text':
    case 'composite':
    case 'near':
      return undefined;
    case 'list': {
      // search.html#list: a functional list belongs to a patient, named by the compartment or a filter.
      const unplaced = filter.values.find(
        (value) => value.kind === 'functional' && value.patient === undefined,
      );
      return unplaced?.kind === 'functional'
        ? `$${unplaced.name} needs a patient: search in Patient/[id]/[type], or add patient=[id]`
        : undefined;
    }
    case 'chain':
    case 'has':
      return unsupportedFilterReason(filter.inner);
  }
}

/** Parameters searched as text (search.html#text), with no expression and no order to sort by. */
export const TEXT_SEARCH_PARAMETERS: ReadonlySet<string> = new Set(['_text', '_content']);

const SORTABLE_TYPES: ReadonlySet<SearchParamType> = new Set([
  'string',
  'token',
  'date',
  'number',
  'quantity',
  'uri',
  'reference',
]);

/** Sort keys with a defined order (search.html#sort): the row's own columns and every indexed type. */
export function unsupportedSortReason(key: SortKey): string | undefined {
  if (TEXT_SEARCH_PARAMETERS.has(key.code)) return `'${key.code}' is a text search and has no order`;
  if (ROW_SEARCH_PARAMETERS.has(key.code) || SORTABLE_TYPES.has(key.type)) return undefined;
  return `sorting by ${key.type} parameter '${key.code}' is not supported yet`;
}
