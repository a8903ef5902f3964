/**
 * Runs a `StoreSearch`: the page, its neighbours' cursors, the total when asked, and the include
 * levels (`:iterate` directives reapplied to what the previous level added, until nothing new).
 */
import type { IncludeDirective } from '@concordia/fhir';
import type { Row, SqlExecutor } from '../database.ts';
import type { SearchPage, StoredMatch, StoreSearch } from '../port.ts';
import { readNumber, readOptionalString, readString } from '../rows.ts';
import { includeStatement } from './include-statement.ts';
import { decodeSearchCursor, encodeSearchCursor, type SearchCursor } from './search-cursor.ts';
import { countStatement, matchConditions, pageStatement } from './search-statement.ts';
import { sortColumns } from './sort-sql.ts';
import type { StringNormalizer } from './string-normalizer.ts';

/** `_include:iterate` levels followed at most; cycles stop earlier because nothing new is added. */
const MAX_INCLUDE_LEVELS = 4;

export async function runSearch(
  db: SqlExecutor,
  search: StoreSearch,
  normalize: StringNormalizer,
): Promise<SearchPage> {
  const where = matchConditions(search, normalize, Date.now());
  const total = search.total ? await countMatches(db, where) : undefined;
  const withTotal = total === undefined ? {} : { total };
  if (search.count === 0) return { matches: [], included: [], ...withTotal };

  const columns = sortColumns(search.sort);
  const cursor = search.cursor === undefined ? undefined : decodeSearchCursor(search.cursor, columns.length);
  const rows = await db.query(pageStatement(where, columns, cursor, search.count + 1));
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
  const included = await includes(db, search.includes, matches);
  return {
    matches,
    included,
    ...(next !== undefined ? { next } : {}),
    ...(previous !== undefined ? { previous } : {}),
    ...withTotal,
  };
}

async function countMatches(db: SqlExecutor, where: ReturnType<typeof matchConditions>): Promise<number> {
  const [row] = await db.query(countStatement(where));
  return row === undefined ? 0 : readNumber(row, 'total');
}

function storedMatch(row: Row): StoredMatch {
  return {
    resourceType: readString(row, 'resource_type'),
    id: readString(row, 'id'),
    json: readString(row, 'content'),
  };
}

function cursorAt(row: Row, keyCount: number, direction: SearchCursor['direction']): SearchCursor {
  const keys = Array.from({ length: keyCount }, (_, index) => readOptionalString(row, `k${index}`) ?? null);
  return { direction, keys, resourceType: readString(row, 'resource_type'), id: readString(row, 'id') };
}

async function includes(
  db: SqlExecutor,
  directives: readonly IncludeDirective[],
  matches: readonly StoredMatch[],
): Promise<StoredMatch[]> {
  if (directives.length === 0 || matches.length === 0) return [];
  const seen = new Set(matches.map(identity));
  const included: StoredMatch[] = [];
  let frontier: readonly StoredMatch[] = matches;
  let level: readonly IncludeDirective[] = directives;
  for (let depth = 0; depth < MAX_INCLUDE_LEVELS && frontier.length > 0 && level.length > 0; depth++) {
    const rows = await db.query(includeStatement(level, frontier));
    const added = rows.map(storedMatch).filter((match) => !seen.has(identity(match)));
    for (const match of added) seen.add(identity(match));
    included.push(...added);
    frontier = added;
    level = directives.filter((directive) => directive.iterate);
  }
  return included;
}

function identity(match: StoredMatch): string {
  return `${match.resourceType}/${match.id}`;
}
