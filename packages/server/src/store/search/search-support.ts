/**
 * What the SQL search can answer today, in one place: the REST layer reports everything else as
 * an unsupported parameter (search.html#errors) and the CapabilityStatement lists only what is
 * accepted here, so neither can claim more than the store does.
 */
import {
  ROW_SEARCH_PARAMETERS,
  type SearchFilter,
  type SearchParameterDefinition,
  type SearchParamType,
  type SortKey,
} from '@concordia/fhir';
import { nearFilterFor } from './sort-sql.ts';

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
    case 'code-set':
      // `_id` has no codings: a code set could only ever match nothing, silently.
      if (ROW_SEARCH_PARAMETERS.has(filter.code)) {
        return `the modifier :${filter.modifier} is not defined for '${filter.code}'`;
      }
      // Reaches the store only when no terminology service resolved it (fhir/terminology-filters.ts).
      return filter.kind === 'terminology'
        ? `the modifier :${filter.modifier} needs terminology services, which are not available yet`
        : undefined;
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

/**
 * Why `filter` cannot be evaluated on a contained resource (search.html#contained), if it cannot:
 * it has no narrative or text index of its own, no `meta.lastUpdated` (dom-3), and references to it
 * are local (`#id`), so `_has` cannot reach it; `_list` names stored resources.
 */
export function unsupportedInContainedReason(filter: SearchFilter): string | undefined {
  switch (filter.kind) {
    case 'text':
    case 'list':
    case 'has':
      return `'${filter.parameter}' is not supported with _contained`;
    case 'date':
      return filter.code === '_lastUpdated' ? `a contained resource has no lastUpdated` : undefined;
    default:
      return undefined;
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

/**
 * Sort keys with a defined order (search.html#sort): the row's own columns, every indexed type,
 * and the distance from the point of a `near` filter of the search (`_sort=near`).
 */
export function unsupportedSortReason(key: SortKey, filters: readonly SearchFilter[]): string | undefined {
  if (TEXT_SEARCH_PARAMETERS.has(key.code)) return `'${key.code}' is a text search and has no order`;
  if (ROW_SEARCH_PARAMETERS.has(key.code) || SORTABLE_TYPES.has(key.type)) return undefined;
  if (key.type === 'special') {
    return nearFilterFor(key.code, filters) === undefined
      ? `sorting by '${key.code}' is by the distance from its point: add a ${key.code} parameter`
      : undefined;
  }
  return `sorting by ${key.type} parameter '${key.code}' is not supported yet`;
}

/** Modifiers that need the server's terminology service to resolve them (fhir/terminology-filters.ts). */
export const TERMINOLOGY_MODIFIERS = ['in', 'not-in', 'above', 'below'] as const;

/** Modifiers of each parameter type the parser and the SQL search accept (search.html#modifiers). */
const MODIFIERS_BY_TYPE: Readonly<Record<SearchParamType, readonly string[]>> = {
  token: ['missing', 'not', 'text', 'of-type'],
  string: ['missing', 'exact', 'contains'],
  // `:[type]` is each of the parameter's target types; see `searchModifiers`.
  reference: ['missing', 'identifier'],
  uri: ['missing', 'above', 'below'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  composite: ['missing'],
  special: ['missing'],
};

/**
 * The modifiers one parameter accepts: what the CapabilityStatement documents for it. A test
 * (test/fhir/search-capabilities.test.ts) runs every one of them, and every modifier not listed,
 * through the parser and the planner, so this list cannot claim more or less than the search does.
 */
export function searchModifiers(
  parameter: SearchParameterDefinition,
  options: { terminology: boolean },
): string[] {
  if (parameter.code === '_id') return ['not'];
  if (ROW_SEARCH_PARAMETERS.has(parameter.code) || TEXT_SEARCH_PARAMETERS.has(parameter.code)) return [];
  const modifiers = [...MODIFIERS_BY_TYPE[parameter.type]];
  if (parameter.type === 'token' && options.terminology) modifiers.push(...TERMINOLOGY_MODIFIERS);
  if (parameter.type === 'reference') modifiers.push(...parameter.targets);
  return modifiers;
}

/**
 * Whether `_sort` accepts the parameter (the rule of `unsupportedSortReason`); a `near` parameter
 * sorts by distance when the search has a value for it.
 */
export function isSortableParameter(parameter: SearchParameterDefinition): boolean {
  const key = { code: parameter.code, type: parameter.type, descending: false };
  return parameter.type === 'special' || unsupportedSortReason(key, []) === undefined;
}
