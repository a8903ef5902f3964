/**
 * `_include` and `_revinclude` (search.html#include) for a set of resources: one statement per
 * level, over `search_reference`, returning the included resources' stored JSON.
 */
import type { IncludeDirective } from '@concordia/fhir';
import type { StoredMatch } from '../port.ts';
import { joinSql, type Sql, sql } from '../sql.ts';

export function includeStatement(directives: readonly IncludeDirective[], from: readonly StoredMatch[]): Sql {
  const types = from.map((match) => match.resourceType);
  const ids = from.map((match) => match.id);
  const parts = directives.map((directive) => {
    const param = directive.param === '*' ? sql`` : sql` and x.param = ${directive.param}`;
    const target =
      directive.targetType === undefined ? sql`` : sql` and x.target_type = ${directive.targetType}`;
    if (directive.reverse) {
      return sql`select i.resource_type, i.id, i.content from search_reference x
        join resource i on i.resource_type = x.resource_type and i.id = x.id and not i.deleted
        where (x.target_type, x.target_id) in (select * from unnest(${types}::text[], ${ids}::text[]))
        and x.resource_type = ${directive.sourceType}${param}${target}`;
    }
    return sql`select i.resource_type, i.id, i.content from search_reference x
      join resource i on i.resource_type = x.target_type and i.id = x.target_id and not i.deleted
      where (x.resource_type, x.id) in (select * from unnest(${types}::text[], ${ids}::text[]))
      and x.resource_type = ${directive.sourceType}${param}${target}`;
  });
  return joinSql(parts, ' union ');
}
