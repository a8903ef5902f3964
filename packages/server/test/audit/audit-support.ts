/**
 * Reading back what the audit stored, for the audit tests: the AuditEvents of `audit_event` and of
 * the access log with their search keys, newest last.
 */
import { isRecord } from '@concordia/fhir';
import { allAccessRecords } from '../../src/audit/stored-audit-events.ts';
import type { Database } from '../../src/store/database.ts';
import { readString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';

export interface StoredAuditEvent {
  id: string;
  subtype: string[];
  action: string;
  outcome: string;
  patient: string[];
  entity: string[];
  agent: string[];
  breakGlass: boolean;
  event: Record<string, unknown>;
}

/**
 * A database, or an app whose audit sink is flushed first: reads are answered once their row is
 * spooled (audit-sink.ts), so an app's rows reach the database a few milliseconds later.
 */
export type AuditedDatabase = Database | { database: Database; audit: { sink: { flush(): Promise<void> } } };

export async function storedAuditEvents(from: AuditedDatabase): Promise<StoredAuditEvent[]> {
  const db = await settled(from);
  const rows = await db.query(
    sql`select id, recorded, subtype, action, outcome, patient, entity, agent, break_glass, content::text as content
      from audit_event order by recorded, id`,
  );
  const events = rows.map((row) => ({
    recorded: readString(row, 'recorded'),
    id: readString(row, 'id'),
    subtype: stringArray(row.subtype),
    action: readString(row, 'action'),
    outcome: readString(row, 'outcome'),
    patient: stringArray(row.patient),
    entity: stringArray(row.entity),
    agent: stringArray(row.agent),
    breakGlass: row.break_glass === true,
    event: objectOf(JSON.parse(readString(row, 'content'))),
  }));
  // The access log (reads, searches, operations, refusals) keeps facts; these are its events as
  // the AuditEvent reader materialises them, with the search keys `audit_event` would have held.
  const accesses = (await allAccessRecords(db)).map((record) => ({
    recorded: record.recorded,
    id: record.id,
    subtype: record.subtype,
    action: record.action,
    outcome: record.outcome,
    patient: record.patient,
    entity: record.entity,
    agent: record.agent,
    breakGlass: record.breakGlass,
    event: objectOf(JSON.parse(record.json)),
  }));
  return [...events, ...accesses]
    .sort((left, right) => (left.recorded === right.recorded ? 0 : left.recorded < right.recorded ? -1 : 1))
    .map(({ recorded: _recorded, ...event }) => event);
}

/** The events whose subtypes include `code` (a restful-interaction code such as `read`). */
export async function eventsOf(from: AuditedDatabase, code: string): Promise<StoredAuditEvent[]> {
  return (await storedAuditEvents(from)).filter((event) => event.subtype.includes(code));
}

/** The database of `from`, once everything its audit sink was handed is committed. */
export async function settled(from: AuditedDatabase): Promise<Database> {
  if (!('audit' in from)) return from;
  await from.audit.sink.flush();
  return from.database;
}

function objectOf(value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new Error('the stored AuditEvent is not a JSON object');
  return value;
}

function stringArray(value: unknown): string[] {
  if (!Array.isArray(value)) throw new Error(`not an array: ${String(value)}`);
  return value.map(String);
}

/** The text of the BALP entity[query] (base64 in `entity.query`). */
export function queryOf(event: Record<string, unknown>): string | undefined {
  const entities = Array.isArray(event.entity) ? event.entity.filter(isRecord) : [];
  const query = entities.find((entity) => typeof entity.query === 'string')?.query;
  return typeof query === 'string' ? Buffer.from(query, 'base64').toString('utf8') : undefined;
}
