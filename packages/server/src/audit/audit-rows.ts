/**
 * AuditEvents as `audit_event` rows (migration 0008). Any number of events travel as one JSON
 * parameter that `json_populate_recordset` turns into rows: one statement of one shape whether it
 * carries one event or five hundred (PostgreSQL prepares it once), and the array columns need no
 * per-row parameters.
 */
import type { Sql } from '../store/sql.ts';
import { sql } from '../store/sql.ts';
import type { AuditRecord } from './audit-event.ts';

const COLUMNS = sql`id, recorded, type, subtype, action, outcome, agent, patient, entity, source_ip, break_glass, content`;

/** `records` as one JSON array of `audit_event` rows, each event's JSON embedded as it was serialised. */
export function auditRowsJson(records: readonly AuditRecord[]): string {
  const rows = records.map((record) => {
    const head = JSON.stringify({
      id: record.id,
      recorded: record.recorded,
      type: record.type,
      subtype: record.subtype,
      action: record.action,
      outcome: record.outcome,
      agent: record.agent,
      patient: record.patient,
      entity: record.entity,
      source_ip: record.sourceIp,
      break_glass: record.breakGlass,
    });
    return `${head.slice(0, -1)},"content":${record.json}}`;
  });
  return `[${rows.join(',')}]`;
}

/** Inserts the rows of `auditRowsJson`; returns their ids. */
export function insertAuditRows(rowsJson: string): Sql {
  return sql`insert into audit_event (${COLUMNS})
    select ${COLUMNS} from json_populate_recordset(null::audit_event, ${rowsJson}::json)
    returning id`;
}

/**
 * The same insert for the write statement (store/port.ts `VersionRecorder`): it selects from the
 * `written` CTE, so nothing is audited when the version is not written.
 */
export function insertAuditRowsWithWrite(rowsJson: string): Sql {
  return sql`insert into audit_event (${COLUMNS})
    select ${COLUMNS} from json_populate_recordset(null::audit_event, ${rowsJson}::json)
    where exists (select from written)
    returning id`;
}
