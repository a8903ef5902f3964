/**
 * Every AuditEvent is also a ledger leaf (DESIGN.md D8), appended in the transaction that stores
 * the event: the ledger then proves that no audit row was altered or removed afterwards.
 */
import { type LedgerEntryInput, ledgerEntriesSql } from '../ledger/ledger-entries.ts';
import type { Sql } from '../store/sql.ts';
import type { AuditRecord } from './audit-event.ts';

export function auditLedgerEntries(records: readonly AuditRecord[], when?: Sql): Sql {
  const entries: LedgerEntryInput[] = records.map((record) => ({
    kind: 'audit-event',
    reference: `AuditEvent/${record.id}`,
    // `record.json` is already RFC 8785 canonical (audit-event.ts) and stored verbatim, so a
    // verifier recomputing `canonicalJson(audit_event.content)` gets these very bytes.
    canonicalJson: record.json,
  }));
  return ledgerEntriesSql(entries, when === undefined ? {} : { when });
}
