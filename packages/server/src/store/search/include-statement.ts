/**
 * `_include` and `_revinclude` (search.html#include) for a set of resources: one statement per
 * level, over `search_reference`, returning the included resources' stored JSON. `*` as the source
 * type or the parameter follows every reference parameter of whatever the set holds. Resources
 * already in the result are left out in SQL, so a `limit` counts only new ones, in a stable
 * (type, id) order.
 */
import type { IncludeDirective } from '@concordia/fhir';
import type { StoredMatch } from '../port.ts';
import type { RowFilter } from '../row-filter.ts';
import { joinSql, type Sql, sql } from '../sql.ts';

export interface IncludeLevel {
  directives: readonly IncludeDirective[];
  /** The resources whose references (or referrers) are followed. */
  from: readonly StoredMatch[];
  /** Resources already in the result: matches and earlier levels. */
  seen: readonly { resourceType: string; id: string }[];
  limit: number;
  /** The access decision: a resource it hides is never included. */
  access?: RowFilter;
}

export function includeStatement(level: IncludeLevel): Sql {
  const from = sql`select * from unnest(${level.from.map((m) => m.resourceType)}::text[], ${level.from.map((m) => m.id)}::text[])`;
  const keys = level.directives.map((directive) => {
    const source = directive.sourceType === '*' ? sql`` : sql` and x.resource_type = ${directive.sourceType}`;
    const param = directive.param === '*' ? sql`` : sql` and x.param = ${directive.param}`;
    const target =
      directive.targetType === undefined ? sql`` : sql` and x.target_type = ${directive.targetType}`;
    return directive.reverse
      ? sql`select distinct x.resource_type, x.id from search_reference x
          where (x.target_type, x.target_id) in (${from})${source}${param}${target}`
      : sql`select distinct x.target_type, x.target_id from search_reference x
          where (x.resource_type, x.id) in (${from})${source}${param}${target}`;
  });
  const seenTypes = level.seen.map((resource) => resource.resourceType);
  const seenIds = level.seen.map((resource) => resource.id);
  const visible = level.access === undefined ? sql`true` : level.access.visible(sql`i`);
  return sql`select i.resource_type, i.id, i.content
    from (${joinSql(keys, ' union ')}) k (resource_type, id)
    join resource i on i.resource_type = k.resource_type and i.id = k.id and not i.deleted
    where ${visible} and not exists (select 1 from unnest(${seenTypes}::text[], ${seenIds}::text[]) s (resource_type, id)
      where s.resource_type = i.resource_type and s.id = i.id)
    order by i.resource_type, i.id
    limit ${level.limit}`;
}
