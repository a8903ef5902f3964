/**
 * `_sort` (search.html#sort) as SQL: one key expression per sort parameter, and the keyset
 * condition "comes after this row" that replaces OFFSET. A resource with several values sorts by
 * its lowest ascending and its highest descending; one with none sorts last either way.
 */
import type { SortKey } from '@concordia/fhir';
import { identifier, joinSql, type Sql, sql } from '../sql.ts';
import type { SearchCursor } from './search-cursor.ts';

export interface SortColumn {
  /** Expression over the resource row `r0`. */
  expression: Sql;
  descending: boolean;
  /** Cursor values are bound as text; timestamps are cast back to compare. */
  timestamp: boolean;
}

export function sortColumns(keys: readonly SortKey[]): SortColumn[] {
  return keys.map((key) => ({
    expression: keyExpression(key),
    descending: key.descending,
    timestamp: key.code === '_lastUpdated',
  }));
}

function keyExpression(key: SortKey): Sql {
  if (key.code === '_id') return sql`r0.id`;
  if (key.code === '_lastUpdated') return sql`r0.last_updated`;
  const aggregate = key.descending ? sql`max` : sql`min`;
  if (key.type === 'date') {
    // Ascending by the earliest instant a resource covers, descending by the latest.
    const bound = key.descending ? sql`max(d.high)` : sql`min(d.low)`;
    return sql`(select ${bound} from search_date d
      where d.resource_type = r0.resource_type and d.id = r0.id and d.param = ${key.code})`;
  }
  if (key.type === 'string') {
    return sql`(select ${aggregate}(s.normalized) from search_string s
      where s.resource_type = r0.resource_type and s.id = r0.id and s.param = ${key.code})`;
  }
  return sql`(select ${aggregate}(t.code) from search_token t
    where t.resource_type = r0.resource_type and t.id = r0.id and t.param = ${key.code})`;
}

/** A column as the page query sees it (`m.k0`), with the direction the page is read in. */
interface PageColumn {
  name: Sql;
  descending: boolean;
  nullsLast: boolean;
  timestamp: boolean;
}

/**
 * The columns in reading order: reading backwards (a previous link) flips every direction and
 * null placement, and the rows are reversed afterwards.
 */
export function pageColumns(columns: readonly SortColumn[], backwards: boolean): PageColumn[] {
  const keys = columns.map((column, index) => ({
    name: sql`m.${keyName(index)}`,
    descending: column.descending !== backwards,
    nullsLast: !backwards,
    timestamp: column.timestamp,
  }));
  // Ties fall back to the resource's identity, which is unique: the order is total.
  const identity = [sql`m.resource_type`, sql`m.id`].map((name) => ({
    name,
    descending: backwards,
    nullsLast: true,
    timestamp: false,
  }));
  return [...keys, ...identity];
}

export function keyName(index: number): Sql {
  return sql`${identifier(`k${index}`)}`;
}

export function orderBy(columns: readonly PageColumn[]): Sql {
  return joinSql(
    columns.map(
      (column) =>
        sql`${column.name} ${column.descending ? sql`desc` : sql`asc`} ${column.nullsLast ? sql`nulls last` : sql`nulls first`}`,
    ),
    ', ',
  );
}

/** Rows strictly after the cursor's anchor in the order of `columns`: (k1 > c1) or (k1 = c1 and k2 > c2) … */
export function keysetCondition(columns: readonly PageColumn[], cursor: SearchCursor): Sql {
  const values: (string | null)[] = [...cursor.keys, cursor.resourceType, cursor.id];
  const alternatives: Sql[] = [];
  const equalSoFar: Sql[] = [];
  columns.forEach((column, index) => {
    const value = values[index] ?? null;
    const after = strictlyAfter(column, value);
    if (after !== undefined) alternatives.push(joinSql([...equalSoFar, after], ' and '));
    equalSoFar.push(
      value === null ? sql`${column.name} is null` : sql`${column.name} = ${bound(column, value)}`,
    );
  });
  return alternatives.length === 0
    ? sql`false`
    : sql`(${joinSql(
        alternatives.map((a) => sql`(${a})`),
        ' or ',
      )})`;
}

function strictlyAfter(column: PageColumn, value: string | null): Sql | undefined {
  if (value === null) return column.nullsLast ? undefined : sql`${column.name} is not null`;
  const compare = column.descending
    ? sql`${column.name} < ${bound(column, value)}`
    : sql`${column.name} > ${bound(column, value)}`;
  return column.nullsLast ? sql`(${compare} or ${column.name} is null)` : compare;
}

function bound(column: PageColumn, value: string): Sql {
  return column.timestamp ? sql`${value}::timestamptz` : sql`${value}`;
}
