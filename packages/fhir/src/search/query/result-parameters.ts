/**
 * Parameters that shape the result rather than select (http://hl7.org/fhir/R4/search.html#return):
 * `_count`, `_sort`, `_total`, `_summary`, `_elements`, `_include`, `_revinclude`, `_contained`,
 * `_containedType`.
 */
import { parseElementsParameter } from '../../shaping/elements.ts';
import { parseSummaryMode } from '../../shaping/summary.ts';
import type { SearchParameterRegistry } from '../search-parameters.ts';
import { beingIndexed, malformed, unsupported } from './parameter-issue.ts';
import type { IncludeDirective, SearchQuery, SortKey, TotalMode } from './search-query.ts';

export const RESULT_PARAMETERS: ReadonlySet<string> = new Set([
  '_count',
  '_sort',
  '_total',
  '_summary',
  '_elements',
  '_include',
  '_revinclude',
  '_contained',
  '_containedType',
]);

type ResultFields = Pick<
  SearchQuery,
  'sort' | 'count' | 'total' | 'summary' | 'elements' | 'includes' | 'contained' | 'containedType'
>;

/** Applies one result parameter to `result`; throws a parameter error when it is malformed. */
export function applyResultParameter(
  registry: SearchParameterRegistry,
  resourceTypes: readonly string[],
  name: string,
  value: string,
  result: ResultFields,
): void {
  const [code = '', modifier] = name.split(':');
  switch (code) {
    case '_count': {
      if (!/^\d{1,9}$/.test(value))
        throw malformed(name, `_count must be a non-negative integer, not '${value}'`);
      result.count = Number(value);
      return;
    }
    case '_sort':
      result.sort = value.split(',').map((item) => sortKey(registry, resourceTypes, item));
      return;
    case '_total':
      result.total = totalMode(value);
      return;
    case '_summary':
      result.summary = parseSummaryMode(value);
      return;
    case '_elements':
      result.elements = parseElementsParameter(value);
      return;
    case '_include':
    case '_revinclude':
      result.includes.push(includeDirective(registry, name, code === '_revinclude', modifier, value));
      return;
    case '_contained':
      if (value !== 'false' && value !== 'true' && value !== 'both') {
        throw malformed(name, `_contained must be false, true or both, not '${value}'`);
      }
      result.contained = value;
      return;
    case '_containedType':
      if (value !== 'container' && value !== 'contained') {
        throw malformed(name, `_containedType must be container or contained, not '${value}'`);
      }
      result.containedType = value;
      return;
    default:
      throw unsupported(name, `'${code}' is not supported yet`);
  }
}

function totalMode(value: string): TotalMode {
  if (value === 'none' || value === 'estimate' || value === 'accurate') return value;
  throw malformed('_total', `_total must be none, estimate or accurate, not '${value}'`);
}

function sortKey(registry: SearchParameterRegistry, resourceTypes: readonly string[], item: string): SortKey {
  const descending = item.startsWith('-');
  const code = descending ? item.slice(1) : item;
  if (code.length === 0) throw malformed('_sort', `_sort has an empty key in '${item}'`);
  const [first] = resourceTypes;
  const definition = first === undefined ? undefined : registry.get(first, code);
  if (
    definition === undefined ||
    resourceTypes.some((type) => registry.get(type, code)?.type !== definition.type)
  ) {
    throw malformed('_sort', `'${code}' is not a search parameter of ${resourceTypes.join(', ')}`);
  }
  const indexingOn = resourceTypes.find((type) => registry.get(type, code)?.indexing === true);
  if (indexingOn !== undefined) throw beingIndexed('_sort', code, indexingOn);
  return { code, type: definition.type, descending };
}

/** `Source:param[:Target]`, or `*` (search.html#include); `:iterate` (R4) or `:recurse` (STU3). */
function includeDirective(
  registry: SearchParameterRegistry,
  name: string,
  reverse: boolean,
  modifier: string | undefined,
  value: string,
): IncludeDirective {
  if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') {
    throw malformed(name, `'${name}' has an unknown modifier; use :iterate`);
  }
  const iterate = modifier !== undefined;
  const [sourceType = '', param, targetType, ...rest] = value.split(':');
  if (value === '*') return { reverse, iterate, sourceType: '*', param: '*' };
  if (param === undefined || rest.length > 0 || !registry.isResourceType(sourceType)) {
    throw malformed(name, `'${value}' must read Type:parameter[:TargetType]`);
  }
  if (param !== '*') {
    const definition = registry.get(sourceType, param);
    if (definition?.type !== 'reference') {
      throw malformed(name, `'${param}' is not a reference parameter of ${sourceType}`);
    }
    if (definition.indexing === true) throw beingIndexed(name, param, sourceType);
    if (targetType !== undefined && !definition.targets.includes(targetType)) {
      throw malformed(name, `'${targetType}' is not a target of ${sourceType}:${param}`);
    }
  }
  return { reverse, iterate, sourceType, param, ...(targetType !== undefined ? { targetType } : {}) };
}
