/**
 * `_sort` (search.html#sort) as SQL: one key expression per sort parameter, and the keyset
 * condition "comes after this row" that replaces OFFSET. A resource with several values sorts by
 * its lowest ascending and its highest descending; one with none sorts last either way.
 */
import type { SearchFilter, SortKey } from '@concordia/fhir';
import { identifier, joinSql, type Sql, sql } from '../sql.ts';
import { nearDistanceKey } from './near-sql.ts';
import type { SearchCursor } from './search-cursor.ts';

export interface SortColumn {
  /** Expression over the resource row `r0`. */
  expression: Sql;
  descending: boolean;
  /** Cursor values are bound as text; timestamps and numbers are cast back to compare. */
  cast: Sql | undefined;
}

const TIMESTAMP = sql`::timestamptz`;
const NUMERIC = sql`::numeric`;

/** `filters` are the search's: `_sort=near` measures from the points of its `near` filter. */
export function sortColumns(keys: readonly SortKey[], filters: readonly SearchFilter[] = []): SortColumn[] {
  return keys.map((key) => ({
    expression: keyExpression(key, filters),
    descending: key.descending,
    cast: castOf(key),
  }));
}

/** `_lastUpdated` is a date parameter; `_id` a token; a distance (special `near`) is numeric. */
function castOf(key: SortKey): Sql | undefined {
  if (key.type === 'date') return TIMESTAMP;
  return key.type === 'number' || key.type === 'quantity' || key.type === 'special' ? NUMERIC : undefined;
}

/** The `near` filter `_sort=<code>` measures from (search-support.ts checks there is one). */
export function nearFilterFor(
  code: string,
  filters: readonly SearchFilter[],
): Extract<SearchFilter, { kind: 'near' }> | undefined {
  for (const filter of filters) if (filter.kind === 'near' && filter.code === code) return filter;
  return undefined;
}

function keyExpression(key: SortKey, filters: readonly SearchFilter[]): Sql {
  if (key.code === '_id') return sql`r0.id`;
  if (key.code === '_lastUpdated') return sql`r0.last_updated`;
  const { code, descending } = key;
  const extreme = (value: Sql) => (descending ? sql`max(${value})` : sql`min(${value})`);
  switch (key.type) {
    case 'date':
      // Ascending by the earliest instant a resource covers, descending by the latest.
      return ofIndexRows(descending ? sql`max(v.high)` : sql`min(v.low)`, sql`search_date`, code);
    case 'string':
      return ofIndexRows(extreme(sql`v.normalized`), sql`search_string`, code);
    case 'token':
      return ofIndexRows(extreme(sql`v.code`), sql`search_token`, code);
    case 'number':
      return ofIndexRows(extreme(sql`v.value`), sql`search_number`, code);
    case 'quantity':
      // By the value in canonical UCUM units where the unit converts, so 5400 ug sorts with
      // 5.4 mg; as written otherwise. Values in units of different dimensions do not compare
      // meaningfully either way; a comparator (`<5`) sorts by its value.
      return ofIndexRows(extreme(sql`coalesce(v.canonical_value, v.value)`), sql`search_quantity`, code);
    case 'uri':
      return ofIndexRows(extreme(sql`v.value`), sql`search_uri`, code);
    case 'reference':
      // By the target's `Type/id`, the only form the index keeps.
      return ofIndexRows(extreme(sql`v.target_type || '/' || v.target_id`), sql`search_reference`, code);
    case 'special': {
      const near = nearFilterFor(code, filters);
      if (near === undefined)
        throw new Error(`Sorting by '${code}' without a near filter reached the SQL compiler`);
      return nearDistanceKey(near);
    }
    default:
      throw new Error(`Sorting by ${key.type} parameter '${code}' reached the SQL compiler unchecked`);
  }
}

/** `aggregate` over the index rows `v` of parameter `code` of the resource row `r0`. */
function ofIndexRows(aggregate: Sql, table: Sql, code: string): Sql {
  return sql`(select ${aggregate} from ${table} v
    where v.resource_type = r0.resource_type and v.id = r0.id and v.param = ${code})`;
}

/** A column as the page query sees it (`m.k0`), with the direction the page is read in. */
interface PageColumn {
  name: Sql;
  descending: boolean;
  nullsLast: boolean;
  cast: Sql | undefined;
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
    cast: column.cast,
  }));
  // Ties fall back to the resource's identity, which is unique: the order is total.
  const identity = [sql`m.resource_type`, sql`m.id`].map((name) => ({
    name,
    descending: backwards,
    nullsLast: true,
    cast: undefined,
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
  const [type, id] = columns;
  if (cursor.keys.length === 0 && columns.length === 2 && type !== undefined && id !== undefined) {
    // Unsorted, the order is the primary key's, whose columns are never null: one row comparison,
    // which PostgreSQL reads as a range of `resource_pkey`. The alternatives below it cannot, so
    // it would read every row before the cursor again for each page (bulk export, issue 4).
    const compare = type.descending ? sql`<` : sql`>`;
    return sql`(${type.name}, ${id.name}) ${compare} (${cursor.resourceType}, ${cursor.id})`;
  }
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
  return column.cast === undefined ? sql`${value}` : sql`${value}${column.cast}`;
}
