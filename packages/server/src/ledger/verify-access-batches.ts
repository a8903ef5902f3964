/**
 * `ledger verify` for access-log batches (audit/access-log-batches.ts): one leaf commits to a
 * batch's source and the hash of each of its rows in order. The batch row is re-hashed and
 * compared with the leaf's entry; each stored row is re-hashed and compared with the hash recorded
 * at its position, so a changed, removed or added access is named (`AuditEvent/r<batch>-<position>`),
 * not just its batch. The patient index (`audit_access_patient`), which the access report reads,
 * is checked against the rows it is derived from.
 */
import { accessEventId, accessRowJson, readAccessRow } from '../audit/access-log.ts';
import {
  accessBatchContent,
  accessBatchReference,
  parseAccessBatchReference,
  sha256Hex,
} from '../audit/access-log-batches.ts';
import type { SqlExecutor } from '../store/database.ts';
import { readNumber, readOptionalString, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';

export interface AccessBatchFinding {
  kind: 'altered-content' | 'missing-row' | 'unrecorded-row' | 'altered-index';
  reference: string;
  leafIndex?: number;
  detail: string;
}

export async function verifyAccessBatches(
  db: SqlExecutor,
  entries: readonly { reference: string; contentSha256: string; leafIndex?: number }[],
): Promise<AccessBatchFinding[]> {
  const findings: AccessBatchFinding[] = [];
  const numbers = entries
    .map((entry) => parseAccessBatchReference(entry.reference))
    .filter((batch) => batch !== undefined);
  if (numbers.length === 0) return findings;
  const batchRows = await db.query(
    sql`select batch, observer, site, encode(row_sha256, 'hex') as row_sha256 from audit_access_batch
        where batch = any(${numbers}::bigint[])`,
  );
  const batches = new Map(batchRows.map((row) => [readNumber(row, 'batch'), row]));
  const rows = await db.query(
    sql`select * from audit_access where batch = any(${numbers}::bigint[]) order by batch, position`,
  );
  const rowHashes = new Map<number, Map<number, string>>();
  const patientsOf = new Map<string, string[]>();
  for (const stored of rows) {
    const { row, batch, position } = readAccessRow(stored);
    const hashes = rowHashes.get(batch) ?? new Map<number, string>();
    hashes.set(position, sha256Hex(accessRowJson(row, position)));
    rowHashes.set(batch, hashes);
    patientsOf.set(`${batch}/${position}`, [...row.patients].sort());
  }
  for (const entry of entries) {
    const batch = parseAccessBatchReference(entry.reference);
    if (batch === undefined) continue;
    const at = entry.leafIndex !== undefined ? { leafIndex: entry.leafIndex } : {};
    const stored = batches.get(batch);
    const actual = rowHashes.get(batch) ?? new Map<number, string>();
    if (stored === undefined) {
      findings.push({
        kind: 'missing-row',
        reference: entry.reference,
        ...at,
        detail: `the batch row is gone (${actual.size} of its access rows remain)`,
      });
      continue;
    }
    const recorded = (readString(stored, 'row_sha256').match(/.{64}/g) ?? []).map(String);
    const site = readOptionalString(stored, 'site');
    const content = accessBatchContent(
      { observer: readString(stored, 'observer'), ...(site !== undefined ? { site } : {}) },
      recorded,
    );
    if (sha256Hex(content) !== entry.contentSha256) {
      findings.push({
        kind: 'altered-content',
        reference: entry.reference,
        ...at,
        detail: "the batch's source or row hashes no longer hash to what its ledger entry recorded",
      });
    }
    const positions = Math.max(recorded.length, ...[...actual.keys()].map((position) => position + 1));
    for (let position = 0; position < positions; position += 1) {
      const reference = `AuditEvent/${accessEventId(batch, position)}`;
      const expected = recorded[position];
      const found = actual.get(position);
      if (expected === undefined && found !== undefined)
        findings.push({
          kind: 'unrecorded-row',
          reference,
          ...at,
          detail: `an access row at position ${position}, past the ${recorded.length} rows its batch recorded`,
        });
      else if (expected !== undefined && found === undefined)
        findings.push({
          kind: 'missing-row',
          reference,
          ...at,
          detail: 'the recorded access row no longer exists',
        });
      else if (expected !== found)
        findings.push({
          kind: 'altered-content',
          reference,
          ...at,
          detail: 'the access row no longer hashes to the row hash its batch recorded',
        });
    }
  }
  await checkPatientIndex(db, numbers, patientsOf, findings);
  return findings;
}

/** `audit_access_patient` must hold exactly each row's patients (the access report reads it). */
async function checkPatientIndex(
  db: SqlExecutor,
  batches: readonly number[],
  patientsOf: ReadonlyMap<string, string[]>,
  findings: AccessBatchFinding[],
): Promise<void> {
  const rows = await db.query(
    sql`select batch, position, patient from audit_access_patient where batch = any(${batches}::bigint[])`,
  );
  const indexed = new Map<string, string[]>();
  for (const row of rows) {
    const key = `${readNumber(row, 'batch')}/${readNumber(row, 'position')}`;
    indexed.set(key, [...(indexed.get(key) ?? []), readString(row, 'patient')]);
  }
  for (const key of new Set([...patientsOf.keys(), ...indexed.keys()])) {
    const expected = (patientsOf.get(key) ?? []).join(',');
    const found = (indexed.get(key) ?? []).sort().join(',');
    if (expected === found) continue;
    const [batch = 0, position = 0] = key.split('/').map(Number);
    findings.push({
      kind: 'altered-index',
      reference: `AuditEvent/${accessEventId(batch, position)}`,
      detail: `the patient index lists [${found}] for this access, its row [${expected}]`,
    });
  }
}

/** Access rows whose batch no ledger entry records (inserted outside the sink). */
export async function unrecordedAccessRows(db: SqlExecutor): Promise<AccessBatchFinding[]> {
  const rows = await db.query(
    sql`select a.batch, a.position from audit_access a
        where not exists (select from ledger_leaf l where l.reference = 'AuditAccessBatch/' || a.batch)
          and not exists (select from ledger_entry e where e.reference = 'AuditAccessBatch/' || a.batch)
        order by a.batch, a.position`,
  );
  return rows.map((row) => ({
    kind: 'unrecorded-row',
    reference: `AuditEvent/${accessEventId(readNumber(row, 'batch'), readNumber(row, 'position'))}`,
    detail: `no ledger entry records its batch ${accessBatchReference(readNumber(row, 'batch'))}`,
  }));
}
