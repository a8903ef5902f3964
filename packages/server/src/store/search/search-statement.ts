/**
 * One search page as one SQL statement (plus a count when `_total` asks): the filters as
 * semi-joins on `resource r0`, sort keys computed per row, and a keyset condition on them instead
 * of OFFSET, so page 1,000 costs what page 1 does. A search of one type in the default order finds
 * its page's ids from index rows first and reads only those resources (`indexMatches`).
 */

import type { SearchFilter } from '@concordia/fhir';
import type { StoreSearch } from '../port.ts';
import type { RowFilter } from '../row-filter.ts';
import { joinSql, type Sql, sql } from '../sql.ts';
import { filterCondition, filterRows } from './filter-sql.ts';
import type { SearchCursor } from './search-cursor.ts';
import { rootScope, type SearchScope } from './search-scope.ts';
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
  return joinSql([sql`not r0.deleted`, ...placeConditions(search, types, access)], ' and ');
}

/**
 * What `r0` must be besides current: visible to the caller and in the compartments asked for.
 * Conditions on `resource_type` and `id` alone (row-filter.ts), so they hold on an index row too.
 */
function placeConditions(
  search: StoreSearch,
  types: readonly string[] | undefined,
  access: RowFilter | undefined,
): Sql[] {
  // The access decision is part of the match itself, so pages, cursors and totals agree with it.
  const conditions = access === undefined ? [] : [access.visible(sql`r0`, types)];
  return [...conditions, ...compartmentConditions(search)];
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

/**
 * The filter kinds that may drive an index page, most selective first as a rule: a reference names
 * its targets (one patient's Observations), a token one code, a string a name prefix, a date a
 * range; a chain's reference rows are the largest (every Observation of 52 Patients) and, unlike
 * the others, cannot be merged into the page's join, so any other filter drives before it.
 */
const DRIVING_KINDS: readonly SearchFilter['kind'][] = ['reference', 'token', 'string', 'date', 'chain'];

/** A search's matches as index rows `r0` (`resource_type`, `id`; an id may occur more than once). */
export interface IndexMatches {
  type: string;
  /** `from … r0 where …`. */
  rows: Sql;
}

/**
 * The matches of a search of one type as index rows, found before any resource row is read, or
 * `undefined` where that cannot be done (several types, `_sort`, `_lastUpdated` on the row, no
 * filter with index rows of its own). The rows of one filter (`filterRows`, the driver) with every
 * other filter and the access decision as semi-joins on them, so the planner intersects index-only
 * scans (a name's 5,031 Observations against one code's rows) instead of visiting each candidate's
 * resource row to test it. Index rows exist only for current resources, so an id found is a
 * current resource's without reading `deleted`.
 */
export function indexMatches(
  search: StoreSearch,
  normalize: StringNormalizer,
  now: number,
  access: RowFilter | undefined,
): IndexMatches | undefined {
  const types = search.resourceTypes;
  const [type, ...others] = types;
  if (search.allTypes || type === undefined || others.length > 0 || search.sort.length > 0) return undefined;
  // `_lastUpdated` is a column of the resource row, not of any index row.
  if (search.filters.some((filter) => filter.kind === 'date' && filter.code === '_lastUpdated')) {
    return undefined;
  }
  const scope = rootScope(normalize, now, types, access);
  const driver = drivingFilter(search.filters, scope);
  if (driver === undefined) return undefined;
  const conditions: Sql[] = [
    sql`r0.resource_type = ${type}`,
    ...placeConditions(search, types, access),
    ...search.filters
      .filter((filter) => filter !== driver.filter)
      .map((filter) => filterCondition(filter, scope)),
  ];
  return { type, rows: sql`from (${driver.rows}) r0 where ${joinSql(conditions, ' and ')}` };
}

/**
 * A page of `matches` in the default order: first its ids, cut in id order from the index rows,
 * then only those resource rows (the `deleted` test stays as a guard). Reading every candidate's
 * row to test it, as `pageStatement` does, cost one heap visit per candidate: 3,316 buffers → 149
 * for `Observation?subject:Patient.name=…&code=…` at 100,000 resources.
 */
export function indexPageStatement(
  matches: IndexMatches,
  cursor: SearchCursor | undefined,
  limit: number,
): Sql {
  const backwards = cursor?.direction === 'before';
  const after =
    cursor === undefined
      ? sql``
      : sql` and (r0.resource_type, r0.id) ${backwards ? sql`<` : sql`>`} (${cursor.resourceType}, ${cursor.id})`;
  const order = backwards ? sql`desc` : sql`asc`;
  return sql`select found.resource_type, found.id, found.content
    from (select distinct r0.id ${matches.rows}${after} order by r0.id ${order} limit ${limit}) page
    join resource found on found.resource_type = ${matches.type} and found.id = page.id and not found.deleted
    order by found.id ${order}`;
}

export function indexCountStatement(matches: IndexMatches): Sql {
  // `distinct` in a subquery, not `count(distinct …)`: the planner may hash it instead of sorting.
  return sql`select count(*) as total from (select distinct r0.id ${matches.rows}) m`;
}

function drivingFilter(
  filters: readonly SearchFilter[],
  scope: SearchScope,
): { filter: SearchFilter; rows: Sql } | undefined {
  for (const kind of DRIVING_KINDS) {
    for (const filter of filters) {
      if (filter.kind !== kind) continue;
      const rows = filterRows(filter, scope);
      if (rows !== undefined) return { filter, rows };
    }
  }
  return undefined;
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
