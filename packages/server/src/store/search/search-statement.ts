/**
 * One search page as one SQL statement (plus a count when `_total` asks): the filters as
 * semi-joins on `resource r0`, sort keys computed per row, and a keyset condition on them instead
 * of OFFSET, so page 1,000 costs what page 1 does.
 */

import type { StoreSearch } from '../port.ts';
import type { RowFilter } from '../row-filter.ts';
import { joinSql, type Sql, sql } from '../sql.ts';
import { filterCondition } from './filter-sql.ts';
import type { SearchCursor } from './search-cursor.ts';
import { rootScope } from './search-scope.ts';
import { keyName, keysetCondition, orderBy, pageColumns, type SortColumn } from './sort-sql.ts';
import type { StringNormalizer } from './string-normalizer.ts';

export function matchConditions(
  search: StoreSearch,
  normalize: StringNormalizer,
  now: number,
  access?: RowFilter,
): Sql {
  const types = search.allTypes ? undefined : search.resourceTypes;
  const scope = rootScope(normalize, now, types, access);
  const conditions: Sql[] = [rowConditions(search, types, access)];
  if (!search.allTypes) {
    const [only] = search.resourceTypes;
    conditions.push(
      search.resourceTypes.length === 1 && only !== undefined
        ? sql`r0.resource_type = ${only}`
        : sql`r0.resource_type = any(${search.resourceTypes}::text[])`,
    );
  }
  for (const filter of search.filters) conditions.push(filterCondition(filter, scope));
  return joinSql(conditions, ' and ');
}

/**
 * What the resource row `r0` must be whatever the filters: current, visible to the caller, and in
 * the compartments asked for. A contained resource's container must be so too (contained-sql.ts).
 */
export function rowConditions(
  search: StoreSearch,
  types: readonly string[] | undefined,
  access: RowFilter | undefined,
): Sql {
  const conditions: Sql[] = [sql`not r0.deleted`];
  // The access decision is part of the match itself, so pages, cursors and totals agree with it.
  if (access !== undefined) conditions.push(access.visible(sql`r0`, types));
  conditions.push(...compartmentConditions(search));
  return joinSql(conditions, ' and ');
}

function compartmentConditions(search: StoreSearch): Sql[] {
  const conditions: Sql[] = [];
  if (search.compartment !== undefined) {
    conditions.push(sql`exists (select 1 from compartment c
      where c.patient_id = ${search.compartment.id} and c.resource_type = r0.resource_type and c.id = r0.id)`);
  }
  if (search.patientCompartments !== undefined) {
    conditions.push(inPatientCompartments(search.patientCompartments));
  }
  return conditions;
}

/**
 * A scalar subquery, not EXISTS, as in everything-statement.ts: a per-row probe of the
 * `compartment_resource` index, so a keyset page stops as soon as it is full instead of the
 * planner building the whole semi-join first.
 */
function inPatientCompartments(patients: readonly string[] | 'any'): Sql {
  const which = patients === 'any' ? sql`` : sql`and c.patient_id = any(${[...patients]}::text[])`;
  return sql`coalesce((select true from compartment c
    join resource p on p.resource_type = 'Patient' and p.id = c.patient_id and not p.deleted
    where c.resource_type = r0.resource_type and c.id = r0.id ${which} limit 1), false)`;
}

export function pageStatement(
  where: Sql,
  columns: readonly SortColumn[],
  cursor: SearchCursor | undefined,
  limit: number,
): Sql {
  const keys = columns.map((column, index) => sql`, ${column.expression} as ${keyName(index)}`);
  return pageOfRows(
    sql`select r0.resource_type, r0.id, r0.content${joinSql(keys, '')} from resource r0 where ${where}`,
    columns,
    cursor,
    limit,
  );
}

/** One page of `rows` (with `resource_type`, `id` and the key columns `k0`…), in keyset order. */
export function pageOfRows(
  rows: Sql,
  columns: readonly SortColumn[],
  cursor: SearchCursor | undefined,
  limit: number,
): Sql {
  const reading = pageColumns(columns, cursor?.direction === 'before');
  const after = cursor === undefined ? sql`true` : keysetCondition(reading, cursor);
  return sql`select m.* from (${rows}) m
    where ${after}
    order by ${orderBy(reading)} limit ${limit}`;
}

export function countStatement(where: Sql): Sql {
  return sql`select count(*) as total from resource r0 where ${where}`;
}

/** The plan of the matches, not run: its top node's row estimate answers `_total=estimate`. */
export function estimateStatement(where: Sql): Sql {
  return sql`explain (format json) select r0.id from resource r0 where ${where}`;
}
