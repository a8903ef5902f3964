/**
 * Runs a `StoreSearch`: the page, its neighbours' cursors, the total when asked, and the include
 * levels (`:iterate` directives reapplied to what the previous level added, until nothing new).
 */
import { type IncludeDirective, isRecord, type TotalMode } from '@concordia/fhir';
import type { Row, SqlExecutor } from '../database.ts';
import type { SearchPage, StoredMatch, StoreSearch } from '../port.ts';
import type { RowFilter } from '../row-filter.ts';
import { readNumber, readOptionalString, readString } from '../rows.ts';
import { type Sql, sql } from '../sql.ts';
import { containedRows } from './contained-sql.ts';
import { includeStatement } from './include-statement.ts';
import { decodeSearchCursor, encodeSearchCursor, type SearchCursor } from './search-cursor.ts';
import {
  countStatement,
  estimateStatement,
  indexCountStatement,
  indexMatches,
  indexPageStatement,
  matchConditions,
  pageOfRows,
  pageStatement,
} from './search-statement.ts';
import { type SortColumn, sortColumns } from './sort-sql.ts';
import type { StringNormalizer } from './string-normalizer.ts';

/** `_include:iterate` levels followed at most; cycles stop earlier because nothing new is added. */
const MAX_INCLUDE_LEVELS = 4;

export async function runSearch(
  db: SqlExecutor,
  search: StoreSearch,
  normalize: StringNormalizer,
  access?: RowFilter,
): Promise<SearchPage> {
  const statements = searchStatements(search, normalize, Date.now(), access);
  const total = await totalOf(db, statements, search.total);
  const withTotal = total === undefined ? {} : { total };
  if (search.count === 0) return { matches: [], included: [], ...withTotal };

  const columns = sortColumns(search.sort, search.filters);
  const cursor = search.cursor === undefined ? undefined : decodeSearchCursor(search.cursor, columns.length);
  const rows = await db.query(statements.page(columns, cursor, search.count + 1));
  const more = rows.length > search.count;
  const pageRows = rows.slice(0, search.count);
  if (cursor?.direction === 'before') pageRows.reverse();
  const matches = pageRows.map(storedMatch);
  const anchor = (row: Row | undefined, direction: SearchCursor['direction']) =>
    row === undefined ? undefined : encodeSearchCursor(cursorAt(row, columns.length, direction));
  // Reading forwards, more rows mean a next page; reading backwards, a previous one.
  const next = cursor?.direction === 'before' || more ? anchor(pageRows.at(-1), 'after') : undefined;
  const previous =
    cursor?.direction === 'after' || (cursor?.direction === 'before' && more)
      ? anchor(pageRows[0], 'before')
      : undefined;
  // A contained resource returned alone has no index rows of its own to include from.
  const { included, limitReached } = await includes(
    db,
    search.includes,
    matches.filter((match) => match.container === undefined),
    search.includeLimit,
    access,
  );
  return {
    matches,
    included,
    ...(limitReached ? { includeLimitReached: true } : {}),
    ...(next !== undefined ? { next } : {}),
    ...(previous !== undefined ? { previous } : {}),
    ...withTotal,
  };
}

/**
 * Below this many estimated matches `_total=estimate` counts exactly: a small count is cheap, and
 * the planner's guesses are coarsest for the small, selective searches where a user notices.
 */
export const EXACT_TOTAL_BELOW = 1000;

interface SearchStatements {
  page(columns: readonly SortColumn[], cursor: SearchCursor | undefined, limit: number): Sql;
  count: Sql;
  estimate: Sql;
}

/**
 * The matches as index rows where search-statement.ts can find them so (`indexMatches`), else as
 * resource rows (`r0` of `resource`), or with `_contained` as rows of contained-sql.ts.
 */
function searchStatements(
  search: StoreSearch,
  normalize: StringNormalizer,
  now: number,
  access: RowFilter | undefined,
): SearchStatements {
  const { contained } = search;
  if (contained === undefined) {
    const where = matchConditions(search, normalize, now, access);
    const indexed = indexMatches(search, normalize, now, access);
    return {
      page: (columns, cursor, limit) =>
        indexed === undefined
          ? pageStatement(where, columns, cursor, limit)
          : indexPageStatement(indexed, cursor, limit),
      count: indexed === undefined ? countStatement(where) : indexCountStatement(indexed),
      estimate: estimateStatement(where),
    };
  }
  // `_sort` is refused with `_contained` (search-plan.ts): the rows carry no sort keys.
  const rows = containedRows({ ...search, contained }, normalize, now, access);
  return {
    page: (columns, cursor, limit) => pageOfRows(rows, columns, cursor, limit),
    count: sql`select count(*) as total from (${rows}) m`,
    estimate: sql`explain (format json) select m.id from (${rows}) m`,
  };
}

/** search.html#total; `none` counts nothing. */
async function totalOf(
  db: SqlExecutor,
  statements: SearchStatements,
  mode: TotalMode,
): Promise<number | undefined> {
  if (mode === 'none') return undefined;
  if (mode === 'estimate') {
    const estimate = await estimateMatches(db, statements.estimate);
    if (estimate >= EXACT_TOTAL_BELOW) return estimate;
  }
  const [row] = await db.query(statements.count);
  return row === undefined ? 0 : readNumber(row, 'total');
}

/** The planner's row estimate for the matches (no rows are read), from `EXPLAIN (FORMAT JSON)`. */
async function estimateMatches(db: SqlExecutor, estimate: Sql): Promise<number> {
  const [row] = await db.query(estimate);
  const cell = row?.['QUERY PLAN'];
  const plan: unknown = typeof cell === 'string' ? JSON.parse(cell) : cell;
  const rows =
    Array.isArray(plan) && isRecord(plan[0]) && isRecord(plan[0].Plan) ? plan[0].Plan['Plan Rows'] : 0;
  return typeof rows === 'number' && Number.isFinite(rows) && rows > 0 ? Math.round(rows) : 0;
}

function storedMatch(row: Row): StoredMatch {
  const localId = readOptionalString(row, 'local_id');
  if (localId !== undefined) return containedMatch(row, localId);
  return {
    resourceType: readString(row, 'resource_type'),
    id: readString(row, 'id'),
    json: readString(row, 'content'),
  };
}

/** A contained resource returned alone: taken out of its container's stored JSON. */
function containedMatch(row: Row, localId: string): StoredMatch {
  const container: unknown = JSON.parse(readString(row, 'content'));
  const contained = isRecord(container) && Array.isArray(container.contained) ? container.contained : [];
  const resource = contained.find((item: unknown) => isRecord(item) && item.id === localId);
  if (resource === undefined) throw new Error(`Contained resource #${localId} is not in its container`);
  return {
    resourceType: readString(row, 'resource_type'),
    id: localId,
    json: JSON.stringify(resource),
    container: { resourceType: readString(row, 'container_type'), id: readString(row, 'container_id') },
  };
}

function cursorAt(row: Row, keyCount: number, direction: SearchCursor['direction']): SearchCursor {
  const keys = Array.from({ length: keyCount }, (_, index) => readOptionalString(row, `k${index}`) ?? null);
  return { direction, keys, resourceType: readString(row, 'resource_type'), id: readString(row, 'id') };
}

/**
 * The include levels, at most `limit` resources in all: each level asks for one more than it may
 * keep, so a cut is known without counting.
 */
async function includes(
  db: SqlExecutor,
  directives: readonly IncludeDirective[],
  matches: readonly StoredMatch[],
  limit: number,
  access: RowFilter | undefined,
): Promise<{ included: StoredMatch[]; limitReached: boolean }> {
  const included: StoredMatch[] = [];
  if (directives.length === 0 || matches.length === 0) return { included, limitReached: false };
  let frontier: readonly StoredMatch[] = matches;
  let level: readonly IncludeDirective[] = directives;
  for (let depth = 0; depth < MAX_INCLUDE_LEVELS && frontier.length > 0 && level.length > 0; depth++) {
    const room = limit - included.length;
    const seen = [...matches, ...included];
    const rows = await db.query(
      includeStatement({
        directives: level,
        from: frontier,
        seen,
        limit: room + 1,
        ...(access ? { access } : {}),
      }),
    );
    const added = rows.slice(0, room).map(storedMatch);
    included.push(...added);
    if (rows.length > room) return { included, limitReached: true };
    frontier = added;
    level = directives.filter((directive) => directive.iterate);
  }
  return { included, limitReached: false };
}
