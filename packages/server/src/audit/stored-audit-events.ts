/**
 * AuditEvents as stored, read back from both places they live: `audit_event` (writes and sign-ins,
 * kept as JSON) and the access log (`audit_access`, kept as facts and materialised here). The
 * AuditEvent REST reader, the patient's access report and the tests read through this module, so
 * neither knows which table an event came from. Pages are newest first, ordered by
 * (recorded, id) with ids compared byte-wise (`collate "C"`, as JavaScript compares them) so that
 * the two tables merge into one keyset order.
 */
import type { Row, SqlExecutor } from '../store/database.ts';
import { readOptionalString, readString } from '../store/rows.ts';
import { identifier, joinSql, type Sql, sql } from '../store/sql.ts';
import { ACCESS_ROW_COLUMNS, accessAuditRecord, parseAccessEventId, readAccessRow } from './access-log.ts';
import type { AuditRecord } from './audit-event.ts';
import { type AuditEventQuery, accessConditions, eventConditions, whereClause } from './audit-event-query.ts';

export interface StoredAuditEvent {
  id: string;
  recorded: string;
  breakGlass: boolean;
  /** The AuditEvent JSON (RFC 8785 canonical). */
  json: string;
}

const ACCESS_COLUMNS = joinSql(
  ACCESS_ROW_COLUMNS.map((column) => sql`a.${identifier(column)}`),
  ', ',
);
const ACCESS_ID = sql`('r' || batch || '-' || position)`;

/** The page of `query` (one more event than asked for when there are more). */
/** How many AuditEvents match the criteria, in both tables that hold them (`_total=accurate`). */
export async function countAuditEvents(db: SqlExecutor, query: AuditEventQuery): Promise<number> {
  const [row] = await db.query(
    sql`select (select count(*) from audit_event where ${whereClause(eventConditions(query))})
      + (select count(*) from audit_access where ${whereClause(accessConditions(query))}) as total`,
  );
  return Number(row?.total ?? 0);
}

export async function searchAuditEvents(
  db: SqlExecutor,
  query: AuditEventQuery,
): Promise<StoredAuditEvent[]> {
  const limit = query.count + 1;
  const before = query.before;
  const eventKeyset =
    before === undefined
      ? sql`true`
      : sql`(recorded < ${before.recorded}::timestamptz
          or (recorded = ${before.recorded}::timestamptz and id collate "C" < ${before.id}))`;
  const accessKeyset =
    before === undefined
      ? sql`true`
      : sql`(recorded < ${before.recorded}::timestamptz
          or (recorded = ${before.recorded}::timestamptz and ${ACCESS_ID} collate "C" < ${before.id}))`;
  const [events, accesses] = await Promise.all([
    db.query(
      sql`select id, recorded, break_glass, content::text as content from audit_event
        where ${whereClause(eventConditions(query))} and ${eventKeyset}
        order by recorded desc, id collate "C" desc limit ${limit}`,
    ),
    db.query(
      accessSelect(sql`select * from audit_access
        where ${whereClause(accessConditions(query))} and ${accessKeyset}
        order by recorded desc, ${ACCESS_ID} collate "C" desc limit ${limit}`),
    ),
  ]);
  const merged = [...events.map(storedEvent), ...accesses.map(materialised)];
  merged.sort(newestFirst);
  return merged.slice(0, limit);
}

/** `AuditEvent/{id}`, from whichever table holds it. */
export async function readStoredAuditEvent(
  db: SqlExecutor,
  id: string,
): Promise<StoredAuditEvent | undefined> {
  const place = parseAccessEventId(id);
  if (place !== undefined) {
    const [row] = await db.query(
      accessSelect(
        sql`select * from audit_access where batch = ${place.batch} and position = ${place.position}`,
      ),
    );
    return row === undefined ? undefined : materialised(row);
  }
  const [row] = await db.query(
    sql`select id, recorded, break_glass, content::text as content from audit_event where id = ${id}`,
  );
  return row === undefined ? undefined : storedEvent(row);
}

/** Access-log rows of `rows` (a `select * from audit_access …`) with their batch's source. */
function accessSelect(rows: Sql): Sql {
  return sql`select a.batch, a.position, ${ACCESS_COLUMNS}, b.observer, b.site
    from (${rows}) a join audit_access_batch b on b.batch = a.batch`;
}

/** An access-log row selected by `accessSelect`, as the AuditEvent it stands for. */
export function accessRecordOf(row: Row): AuditRecord {
  const { row: access, batch, position } = readAccessRow(row);
  const site = readOptionalString(row, 'site');
  return accessAuditRecord(
    access,
    { batch, position },
    { observer: readString(row, 'observer'), ...(site !== undefined ? { site } : {}) },
  );
}

function materialised(row: Row): StoredAuditEvent {
  const record = accessRecordOf(row);
  return { id: record.id, recorded: record.recorded, breakGlass: record.breakGlass, json: record.json };
}

function storedEvent(row: Row): StoredAuditEvent {
  return {
    id: readString(row, 'id'),
    recorded: readString(row, 'recorded'),
    breakGlass: row.break_glass === true,
    json: readString(row, 'content'),
  };
}

function newestFirst(left: StoredAuditEvent, right: StoredAuditEvent): number {
  if (left.recorded !== right.recorded) return left.recorded < right.recorded ? 1 : -1;
  if (left.id === right.id) return 0;
  return left.id < right.id ? 1 : -1;
}

/** Every access-log row as its AuditEvent, oldest first (tests and tools; not paged). */
export async function allAccessRecords(db: SqlExecutor): Promise<AuditRecord[]> {
  const rows = await db.query(
    accessSelect(sql`select * from audit_access order by recorded, batch, position`),
  );
  return rows.map(accessRecordOf);
}
