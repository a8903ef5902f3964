/**
 * The audit of writes (DESIGN.md rule 1): every version the store writes — create, update, patch,
 * delete, transaction entries, imports — gets its BALP Create/Update/Delete AuditEvent and that
 * event's ledger leaf in the very statement that writes the version (store/port.ts
 * `VersionRecorder`). A write is therefore never committed without its audit, and an audit row
 * never exists for a write that rolled back.
 */
import type { RecordedVersion, VersionRecorder } from '../store/port.ts';
import { type Sql, sql } from '../store/sql.ts';
import { type AuditRecord, type AuditSource, auditRecord } from './audit-event.ts';
import { auditRowsJson, insertAuditRowsWithWrite } from './audit-rows.ts';
import { REST_TYPE, RESTFUL_INTERACTION } from './balp-codes.ts';
import { auditLedgerEntries } from './ledger-leaves.ts';
import { patientsOfResource } from './patient-references.ts';

const SUBTYPE_OF_METHOD = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const;
const ACTION_OF_METHOD = { POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' } as const;

/** `onRecorded`: told of each event built (before its statement runs), e.g. to export it once committed. */
export function writeAuditRecorder(
  source: AuditSource,
  /** Whether each event also becomes a ledger leaf (the ledger is on). */
  ledger: boolean,
  onRecorded?: (requestId: string, record: AuditRecord) => void,
): VersionRecorder {
  const eventOf = ({ ctx, version, resource }: RecordedVersion): AuditRecord => {
    const { resourceType, id, versionId, method } = version;
    const patients = new Set<string>();
    // A tombstone has no content: a deleted Patient is still its own patient.
    if (resource !== undefined) patientsOfResource(resource, patients);
    else if (resourceType === 'Patient') patients.add(`Patient/${id}`);
    // A PUT that creates is still an update interaction (http.html#upsert); version 1 says it created.
    const record = auditRecord(
      {
        ctx,
        recorded: version.lastUpdated,
        type: REST_TYPE,
        subtypes: [{ system: RESTFUL_INTERACTION, code: SUBTYPE_OF_METHOD[method] }],
        action: versionId === 1 && method !== 'DELETE' ? 'C' : ACTION_OF_METHOD[method],
        outcome: '0',
        entities: [`${resourceType}/${id}/_history/${versionId}`],
        patients: [...patients],
      },
      source,
    );
    onRecorded?.(ctx.requestId, record);
    return record;
  };
  // One multi-row insert (and one ledger insert) for one version or a whole batch of creates.
  const statements = (records: readonly AuditRecord[]): Sql[] => {
    const stored = insertAuditRowsWithWrite(auditRowsJson(records));
    return ledger ? [stored, auditLedgerEntries(records, sql`exists (select from written)`)] : [stored];
  };
  return {
    name: 'audit',
    record: (recorded) => statements([eventOf(recorded)]),
    recordMany: (recorded) => statements(recorded.map(eventOf)),
  };
}
