/**
 * History (http.html#history): instance, type and system, newest first, paged by an opaque cursor
 * on `resource_history.seq`. A page holds versions with `seq` below the previous page's last one,
 * so writes made while a client pages land above the cursor and never shift or repeat a page.
 * Ordering is by `seq` (allocation order), which can differ from `last_updated` order by the
 * duration of overlapping transactions; for one resource it is exactly version order.
 */
import { fhirError } from '@concordia/fhir';
import type { SqlExecutor } from './database.ts';
import type { HistoryPage, HistoryQuery } from './port.ts';
import type { RowFilter } from './row-filter.ts';
import { readNumber } from './rows.ts';
import { joinSql, type Sql, sql } from './sql.ts';
import { storedVersionFromRow, versionColumns } from './stored-version.ts';

export async function readHistory(
  db: SqlExecutor,
  query: HistoryQuery,
  access?: RowFilter,
): Promise<HistoryPage> {
  if (!Number.isInteger(query.count) || query.count < 0) {
    throw fhirError('invalid', 'invalid', `_count must be a non-negative integer, got ${query.count}`);
  }
  const filters = historyFilters(query);
  // A version is visible when its resource is, as the access decision sees it now.
  if (access !== undefined) {
    filters.push(access.visible(sql`h`, query.resourceType === undefined ? undefined : [query.resourceType]));
  }
  const total = query.total === true ? await countVersions(db, filters) : undefined;
  const withTotal = total === undefined ? {} : { total };
  if (query.count === 0) return { versions: [], ...withTotal };

  const after = query.cursor === undefined ? [] : [sql`h.seq < ${decodeCursor(query.cursor)}`];
  const rows = await db.query(sql`select h.seq, ${versionColumns} from resource_history h
    where ${whereAll([...filters, ...after])}
    order by h.seq desc limit ${query.count + 1}`);
  const page = rows.slice(0, query.count);
  const last = page.at(-1);
  const next =
    rows.length > query.count && last !== undefined ? encodeCursor(readNumber(last, 'seq')) : undefined;
  return { versions: page.map(storedVersionFromRow), ...(next !== undefined ? { next } : {}), ...withTotal };
}

function historyFilters(query: HistoryQuery): Sql[] {
  const filters: Sql[] = [];
  if (query.resourceType !== undefined) filters.push(sql`h.resource_type = ${query.resourceType}`);
  if (query.id !== undefined) {
    if (query.resourceType === undefined) throw new Error('Instance history needs a resource type');
    filters.push(sql`h.id = ${query.id}`);
  }
  if (query.since !== undefined) {
    filters.push(sql`h.last_updated >= ${instant(query.since, '_since')}::timestamptz`);
  }
  if (query.at !== undefined) {
    // Current at `_at`: written at or before it, and not yet replaced by the next version then.
    const at = instant(query.at, '_at');
    filters.push(sql`h.last_updated <= ${at}::timestamptz and not exists (
      select 1 from resource_history n
      where n.resource_type = h.resource_type and n.id = h.id and n.version_id = h.version_id + 1
        and n.last_updated <= ${at}::timestamptz)`);
  }
  return filters;
}

async function countVersions(db: SqlExecutor, filters: Sql[]): Promise<number> {
  const [row] = await db.query(
    sql`select count(*) as total from resource_history h where ${whereAll(filters)}`,
  );
  return row === undefined ? 0 : readNumber(row, 'total');
}

function whereAll(conditions: Sql[]): Sql {
  return conditions.length === 0 ? sql`true` : joinSql(conditions, ' and ');
}

function instant(value: string, parameter: string): string {
  if (Number.isNaN(Date.parse(value))) {
    throw fhirError('invalid', 'invalid', `${parameter} is not a valid instant: ${value}`);
  }
  return value;
}

const CURSOR_PREFIX = 'seq:';

function encodeCursor(seq: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw fhirError(
      'invalid',
      'invalid',
      'The history paging cursor is not valid; start again from the first page',
    );
  }
  return seq;
}
