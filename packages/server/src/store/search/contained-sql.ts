/**
 * `_contained` and `_containedType` (http://hl7.org/fhir/R4/search.html#contained) as the rows a
 * search matches. By default a contained resource matches nothing: `_contained=true` matches only
 * contained resources, `both` them and the others. A matching contained resource is returned as its
 * container (`_containedType=container`, the default) or alone (`contained`), its fullUrl the
 * container's with `#<local id>`.
 *
 * A contained resource is known by its `_contained` token row under its container's key (system:
 * its type, code: its local id); its values are its container's index rows under
 * `#<local id>:<param>` names, so each filter's SQL is the usual one in a `containedScope`.
 *
 * Rows have `resource_type`, `id`, `content` and, for a contained resource returned alone,
 * `container_type`, `container_id` and `local_id` (its `id` is then `Type/id#local`, so that
 * (resource_type, id) stays unique and keyset paging works unchanged).
 */
import { CONTAINED_RESOURCE_PARAM, resourceTypes } from '@concordia/fhir';
import type { StoreSearch } from '../port.ts';
import type { RowFilter } from '../row-filter.ts';
import { joinSql, type Sql, sql } from '../sql.ts';
import { filterCondition } from './filter-sql.ts';
import { containedScope, rootScope } from './search-scope.ts';
import { matchConditions, rowConditions } from './search-statement.ts';
import type { StringNormalizer } from './string-normalizer.ts';

type ContainedSearch = StoreSearch & { contained: NonNullable<StoreSearch['contained']> };

export function containedRows(
  search: ContainedSearch,
  normalize: StringNormalizer,
  now: number,
  access?: RowFilter,
): Sql {
  const types = search.allTypes ? undefined : search.resourceTypes;
  const scope = containedScope(rootScope(normalize, now, undefined, access), sql`c`);
  const conditions: Sql[] = [
    // Every type may contain resources: naming them lets the lookup index (resource_type, param,
    // code, system) find the `_contained` rows without a scan of every token.
    sql`c.resource_type = any(${resourceTypes()}::text[])`,
    sql`c.param = ${CONTAINED_RESOURCE_PARAM}`,
    ...(types === undefined ? [] : [sql`c.system = any(${[...types]}::text[])`]),
    ...search.filters.map((filter) => filterCondition(filter, scope)),
  ];
  const contained = joinSql(conditions, ' and ');
  // The container must be current, visible and in the compartment asked for, whatever it is.
  const container = rowConditions(search, undefined, access);
  const own = sql`select r0.resource_type, r0.id, r0.content,
      null::text as container_type, null::text as container_id, null::text as local_id
    from resource r0 where ${matchConditions(search, normalize, now, access)}`;
  if (search.contained.type === 'contained') {
    const alone = sql`select c.system as resource_type, r0.resource_type || '/' || r0.id || '#' || c.code as id,
        r0.content, r0.resource_type as container_type, r0.id as container_id, c.code as local_id
      from search_token c join resource r0 on r0.resource_type = c.resource_type and r0.id = c.id
      where ${contained} and ${container}`;
    return search.contained.mode === 'both' ? sql`${own} union all ${alone}` : alone;
  }
  // An uncorrelated IN: the planner can start from the few contained matches, not every resource.
  const containers = sql`select r0.resource_type, r0.id, r0.content,
      null::text as container_type, null::text as container_id, null::text as local_id
    from resource r0
    where ${container} and (r0.resource_type, r0.id) in (select c.resource_type, c.id from search_token c where ${contained})`;
  // A container that matches itself as well appears once.
  return search.contained.mode === 'both' ? sql`${own} union ${containers}` : containers;
}
