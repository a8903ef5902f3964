/**
 * Patient `$everything` (http://hl7.org/fhir/R4/patient-operation-everything.html) as SQL: each
 * page is one statement over the `compartment` table, keyset-paged on (resource type, id) like
 * search's cursors (never OFFSET), plus one statement for the resources the page's members refer
 * to. Memory follows the page size, never the size of a chart.
 */
import type { EverythingQuery } from '../port.ts';
import type { RowFilter } from '../row-filter.ts';
import { joinSql, type Sql, sql } from '../sql.ts';
import type { SearchCursor } from './search-cursor.ts';

/**
 * The members of the compartment(s) as `resource r`. One Patient's compartment is read from the
 * `compartment_patient` index (a resource is in it at most once: its rows are written distinct);
 * every Patient's compartment is the resources with a compartment row of a current Patient, read
 * in primary-key order, so a page stops as soon as it is full.
 */
function members(query: EverythingQuery, access: RowFilter | undefined): { from: Sql; conditions: Sql[] } {
  const conditions: Sql[] = [sql`not r.deleted`];
  if (access !== undefined) conditions.push(access.visible(sql`r`, query.types));
  if (query.types !== undefined) conditions.push(sql`r.resource_type = any(${query.types}::text[])`);
  if (query.since !== undefined) conditions.push(sql`r.last_updated >= ${query.since}::timestamptz`);
  if (query.patientId !== undefined) {
    return {
      from: sql`compartment c join resource r on r.resource_type = c.resource_type and r.id = c.id
        and c.patient_id = ${query.patientId}`,
      conditions,
    };
  }
  // A scalar subquery, not EXISTS: the planner turns EXISTS into a semi-join and may build the
  // whole set of members before sorting (measured 506 ms for a page of 25 Synthea patients); this
  // form is a per-row probe, so the primary-key scan stops when the page is full.
  conditions.push(sql`(select true from compartment c
    join resource p on p.resource_type = 'Patient' and p.id = c.patient_id and not p.deleted
    where c.resource_type = r.resource_type and c.id = r.id limit 1)`);
  return { from: sql`resource r`, conditions };
}

/** `limit` members after (or, reading backwards, before) the cursor's anchor, in reading order. */
export function everythingPageStatement(
  query: EverythingQuery,
  cursor: SearchCursor | undefined,
  limit: number,
  access?: RowFilter,
): Sql {
  const { from, conditions } = members(query, access);
  const backwards = cursor?.direction === 'before';
  if (cursor !== undefined) {
    const anchor = sql`(${cursor.resourceType}::text, ${cursor.id}::text)`;
    conditions.push(
      backwards ? sql`(r.resource_type, r.id) < ${anchor}` : sql`(r.resource_type, r.id) > ${anchor}`,
    );
  }
  const direction = backwards ? sql`desc` : sql`asc`;
  return sql`select r.resource_type, r.id, r.content from ${from}
    where ${joinSql(conditions, ' and ')}
    order by r.resource_type ${direction}, r.id ${direction} limit ${limit}`;
}

export function everythingCountStatement(query: EverythingQuery, access?: RowFilter): Sql {
  const { from, conditions } = members(query, access);
  return sql`select count(*) as total from ${from} where ${joinSql(conditions, ' and ')}`;
}

/**
 * The current resources of `types` that the members refer to, each once, through the reference
 * search parameters (`search_reference`, written with the resource): the supporting resources of
 * the operation's definition ("linked practitioners, medications, locations, organizations").
 */
export function everythingReferencedStatement(
  members: readonly { resourceType: string; id: string }[],
  types: readonly string[],
  access?: RowFilter,
): Sql {
  const memberTypes = members.map((member) => member.resourceType);
  const memberIds = members.map((member) => member.id);
  const visible = access === undefined ? sql`true` : access.visible(sql`i`, types);
  return sql`select i.resource_type, i.id, i.content from resource i
    where not i.deleted and ${visible} and (i.resource_type, i.id) in (
      select x.target_type, x.target_id from search_reference x
      where (x.resource_type, x.id) in (select * from unnest(${memberTypes}::text[], ${memberIds}::text[]))
        and x.target_type = any(${[...types]}::text[]))
    order by i.resource_type, i.id`;
}
