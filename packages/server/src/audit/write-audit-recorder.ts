/**
 * The audit of writes (DESIGN.md rule 1): every version the store writes — create, update, patch,
 * delete, transaction entries, imports — gets its BALP Create/Update/Delete event in the very
 * statement that writes the version (store/port.ts `VersionRecorder`). A write is therefore never
 * committed without its audit, and an audit row never exists for a write that rolled back.
 *
 * The events of one write statement are stored as one access-log batch (access-log.ts,
 * access-log-batches.ts: compact facts, one ledger leaf for the batch): a transaction Bundle's
 * five hundred versions cost one batch row and one leaf, not five hundred two-kilobyte event rows
 * with five hundred leaves (docs/audit-and-ledger.md, "What audit and ledger cost"). An auditor
 * reads them as the same AuditEvents (`AuditEvent/r<batch>-<position>`).
 *
 * With a syslog export configured, events are stored whole instead (`audit_event`), because the
 * exported copy is sent once the write commits and must carry the id the event is stored under,
 * which a batch's number only gets inside the statement.
 */
import type { RecordedVersion, VersionRecorder } from '../store/port.ts';
import { type Cte, type Sql, sql } from '../store/sql.ts';
import { accessRowOf, encodeAccessRow } from './access-log.ts';
import { accessBatchCtes } from './access-log-batches.ts';
import { type AuditFacts, type AuditRecord, type AuditSource, auditRecord } from './audit-event.ts';
import { auditRowsJson, insertAuditRowsWithWrite } from './audit-rows.ts';
import { REST_TYPE, RESTFUL_INTERACTION } from './balp-codes.ts';
import { auditLedgerEntries } from './ledger-leaves.ts';
import { patientsOfResource } from './patient-references.ts';

const SUBTYPE_OF_METHOD = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const;
const ACTION_OF_METHOD = { POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' } as const;

/** Written only when the store's `written` CTE holds the version (a create may lose the race). */
const WHEN_WRITTEN = sql`exists (select from written)`;

/** `onRecorded`: told of each event built (before its statement runs), e.g. to export it once committed. */
export function writeAuditRecorder(
  source: AuditSource,
  /** Whether each event also becomes a ledger leaf (the ledger is on). */
  ledger: boolean,
  onRecorded?: (requestId: string, record: AuditRecord) => void,
): VersionRecorder {
  if (onRecorded !== undefined) return wholeEventRecorder(source, ledger, onRecorded);
  const batch = (recorded: readonly RecordedVersion[]): Cte[] =>
    accessBatchCtes(
      recorded.map((version) => encodeAccessRow(accessRowOf(writeFacts(version)))),
      source,
      ledger,
      { when: WHEN_WRITTEN },
    );
  return { name: 'audit', record: (recorded) => batch([recorded]), recordMany: batch };
}

function writeFacts({ ctx, version, resource }: RecordedVersion): AuditFacts {
  const { resourceType, id, versionId, method } = version;
  const patients = new Set<string>();
  // A tombstone has no content: a deleted Patient is still its own patient.
  if (resource !== undefined) patientsOfResource(resource, patients);
  else if (resourceType === 'Patient') patients.add(`Patient/${id}`);
  return {
    ctx,
    recorded: version.lastUpdated,
    type: REST_TYPE,
    subtypes: [{ system: RESTFUL_INTERACTION, code: SUBTYPE_OF_METHOD[method] }],
    // A PUT that creates is still an update interaction (http.html#upsert); version 1 says it created.
    action: versionId === 1 && method !== 'DELETE' ? 'C' : ACTION_OF_METHOD[method],
    outcome: '0',
    entities: [`${resourceType}/${id}/_history/${versionId}`],
    patients: [...patients],
  };
}

/** Whole AuditEvent rows (and a leaf each), for the syslog export: see the module comment. */
function wholeEventRecorder(
  source: AuditSource,
  ledger: boolean,
  onRecorded: (requestId: string, record: AuditRecord) => void,
): VersionRecorder {
  const eventOf = (recorded: RecordedVersion): AuditRecord => {
    const record = auditRecord(writeFacts(recorded), source);
    onRecorded(recorded.ctx.requestId, record);
    return record;
  };
  // One multi-row insert (and one ledger insert) for one version or a whole batch of creates.
  const statements = (records: readonly AuditRecord[]): Sql[] => {
    const stored = insertAuditRowsWithWrite(auditRowsJson(records));
    return ledger ? [stored, auditLedgerEntries(records, WHEN_WRITTEN)] : [stored];
  };
  return {
    name: 'audit',
    record: (recorded) => statements([eventOf(recorded)]),
    recordMany: (recorded) => statements(recorded.map(eventOf)),
  };
}
