/**
 * Runs one page of `$everything` (everything-statement.ts): the members, the cursors of the
 * neighbouring pages, the total when asked, and the referenced resources of this page's members.
 * A referenced resource appears once per page; a later page that refers to it again repeats it,
 * as `_include` does (search.html#include), so that every page is complete on its own.
 */
import type { Row, SqlExecutor } from '../database.ts';
import type { EverythingQuery, SearchPage, StoredMatch } from '../port.ts';
import type { RowFilter } from '../row-filter.ts';
import { readNumber, readString } from '../rows.ts';
import {
  everythingCountStatement,
  everythingPageStatement,
  everythingReferencedStatement,
} from './everything-statement.ts';
import { decodeSearchCursor, encodeSearchCursor, type SearchCursor } from './search-cursor.ts';

export async function runEverything(
  db: SqlExecutor,
  query: EverythingQuery,
  access?: RowFilter,
): Promise<SearchPage> {
  const total = query.total ? await countMembers(db, query, access) : undefined;
  const withTotal = total === undefined ? {} : { total };
  if (query.count === 0) return { matches: [], included: [], ...withTotal };

  // The order is (resource type, id) alone: the cursor carries no sort keys.
  const cursor = query.cursor === undefined ? undefined : decodeSearchCursor(query.cursor, 0);
  const rows = await db.query(everythingPageStatement(query, cursor, query.count + 1, access));
  const more = rows.length > query.count;
  const matches = rows.slice(0, query.count).map(storedMatch);
  if (cursor?.direction === 'before') matches.reverse();
  const anchor = (match: StoredMatch | undefined, direction: SearchCursor['direction']) =>
    match === undefined
      ? undefined
      : encodeSearchCursor({ direction, keys: [], resourceType: match.resourceType, id: match.id });
  // Reading forwards, more rows mean a next page; reading backwards, a previous one.
  const next = cursor?.direction === 'before' || more ? anchor(matches.at(-1), 'after') : undefined;
  const previous =
    cursor?.direction === 'after' || (cursor?.direction === 'before' && more)
      ? anchor(matches[0], 'before')
      : undefined;
  const included = await referenced(db, matches, query.referencedTypes, access);
  return {
    matches,
    included,
    ...(next !== undefined ? { next } : {}),
    ...(previous !== undefined ? { previous } : {}),
    ...withTotal,
  };
}

/** SearchPage's promise: an included resource is never also a match of the same page. */
async function referenced(
  db: SqlExecutor,
  matches: readonly StoredMatch[],
  types: readonly string[],
  visible: RowFilter | undefined,
): Promise<StoredMatch[]> {
  if (matches.length === 0 || types.length === 0) return [];
  const found = await db.query(everythingReferencedStatement(matches, types, visible));
  const onPage = new Set(matches.map(identity));
  return found.map(storedMatch).filter((match) => !onPage.has(identity(match)));
}

function identity(match: StoredMatch): string {
  return `${match.resourceType}/${match.id}`;
}

async function countMembers(
  db: SqlExecutor,
  query: EverythingQuery,
  access: RowFilter | undefined,
): Promise<number> {
  const [row] = await db.query(everythingCountStatement(query, access));
  return row === undefined ? 0 : readNumber(row, 'total');
}

function storedMatch(row: Row): StoredMatch {
  return {
    resourceType: readString(row, 'resource_type'),
    id: readString(row, 'id'),
    json: readString(row, 'content'),
  };
}
