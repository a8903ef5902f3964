/**
 * The audit of writes (DESIGN.md rule 1): every version the store writes — create, update, patch,
 * delete, transaction entries, imports — gets its BALP Create/Update/Delete event in the very
 * statement that writes the version (store/port.ts `VersionRecorder`). A write is therefore never
 * committed without its audit, and an audit row never exists for a write that rolled back.
 *
 * Where the events go depends on how many versions the statement writes, by measurement
 * (docs/audit-and-ledger.md, "Writes in the access log"):
 * - a batch of versions (store/batched-writes.ts: a transaction Bundle's, an import's) becomes one
 *   access-log batch (access-log.ts, access-log-batches.ts: a compact row per version and one
 *   ledger leaf for all of them), read as the same AuditEvents (`AuditEvent/r<batch>-<position>`).
 *   Against an `audit_event` row per version (a 2 kB BALP JSON, a B-tree and three GIN indexes)
 *   and a leaf each, this took a fifth off audited ingest's CPU.
 * - a statement of fewer than `ACCESS_BATCH_MIN_VERSIONS` versions (a single create, update or
 *   delete is a batch of one) stores each event whole (`audit_event`) with its own leaf: the
 *   batch's six CTEs add 190–270 µs of database CPU to a one-version statement, which is planned
 *   on every write, against ~45 µs of CPU saved per version in a large batch.
 * With a syslog export configured, batches' events are stored whole too, because the exported copy
 * is sent once the write commits and must carry the id the event is stored under, which a batch's
 * number only gets inside the statement.
 */
import type { RecordedVersion, VersionRecorder } from '../store/port.ts';
import { type Sql, sql } from '../store/sql.ts';
import { accessRowOf, encodeAccessRow } from './access-log.ts';
import { accessBatchCtes } from './access-log-batches.ts';
import { type AuditFacts, type AuditRecord, type AuditSource, auditRecord } from './audit-event.ts';
import { auditRowsJson, insertAuditRowsWithWrite } from './audit-rows.ts';
import { REST_TYPE, RESTFUL_INTERACTION } from './balp-codes.ts';
import { auditLedgerEntries } from './ledger-leaves.ts';
import { patientsOfResource } from './patient-references.ts';

const SUBTYPE_OF_METHOD = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const;
const ACTION_OF_METHOD = { POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' } as const;

/** The fewest versions a write statement stores as an access-log batch (see the module comment). */
export const ACCESS_BATCH_MIN_VERSIONS = 8;

/** Written only when the store's `written` CTE holds the version (a create may lose the race). */
const WHEN_WRITTEN = sql`exists (select from written)`;

/** `onRecorded`: told of each whole event built (before its statement runs), to export it once committed. */
export function writeAuditRecorder(
  source: AuditSource,
  /** Whether each event also becomes a ledger leaf (the ledger is on). */
  ledger: boolean,
  onRecorded?: (requestId: string, record: AuditRecord) => void,
): VersionRecorder {
  const eventOf = (recorded: RecordedVersion): AuditRecord => {
    const record = auditRecord(writeFacts(recorded), source);
    onRecorded?.(recorded.ctx.requestId, record);
    return record;
  };
  // One multi-row insert (and one ledger insert) for one version or a batch.
  const wholeEvents = (recorded: readonly RecordedVersion[]): Sql[] => {
    const records = recorded.map(eventOf);
    const stored = insertAuditRowsWithWrite(auditRowsJson(records));
    return ledger ? [stored, auditLedgerEntries(records, WHEN_WRITTEN)] : [stored];
  };
  return {
    name: 'audit',
    record: (recorded) => wholeEvents([recorded]),
    recordMany: (recorded) =>
      onRecorded !== undefined || recorded.length < ACCESS_BATCH_MIN_VERSIONS
        ? wholeEvents(recorded)
        : accessBatchCtes(
            recorded.map((version) => encodeAccessRow(accessRowOf(writeFacts(version)))),
            source,
            ledger,
            { when: WHEN_WRITTEN },
          ),
  };
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
