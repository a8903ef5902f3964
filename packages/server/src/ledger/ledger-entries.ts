/**
 * What a writer appends to the ledger (DESIGN.md D8): one `ledger_entry` row per recorded thing,
 * in the same statement — hence transaction — as the write itself. The entry keeps only the
 * SHA-256 of the content's RFC 8785 canonical JSON (never the content), its kind, the reference
 * of the row it stands for and the transaction time; the sequencer (`sequencer.ts`) later places
 * committed entries in the Merkle tree. See docs/audit-and-ledger.md for the leaf format.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from '@concordia/fhir';
import { type Sql, sql } from '../store/sql.ts';

export { canonicalJson };

/** `audit-access-batch`: one committed batch of access-log rows (audit/access-log-batches.ts). */
export type LedgerEntryKind = 'resource-version' | 'audit-event' | 'audit-access-batch';

export interface LedgerEntryInput {
  kind: LedgerEntryKind;
  /** The recorded row: `Patient/1/_history/2` for a resource version, `AuditEvent/<id>` for an audit event. */
  reference: string;
  /** RFC 8785 canonical JSON of the recorded content (`canonicalJson(resource)`). */
  canonicalJson: string;
}

export interface LedgerEntriesOptions {
  /**
   * Insert only when this SQL condition holds, e.g. sql`exists (select from written)` inside the
   * store's write statement (port.ts `VersionRecorder`), so a write that wrote nothing records nothing.
   */
  when?: Sql;
}

/** SHA-256 of the UTF-8 bytes of canonical JSON, hex: what `ledger_entry.content_sha256` holds. */
export function contentSha256(canonical: string): string {
  // One-shot: every version written hashes its content here, and a Hash object costs twice the digest.
  return hash('sha256', canonical, 'hex');
}

/**
 * An `insert into ledger_entry …` statement for these entries, usable on its own or as a
 * data-modifying CTE of a larger statement. The arrays go through `unnest`, so the statement text
 * has one shape whatever the number of entries (PostgreSQL prepares it once).
 */
export function ledgerEntriesSql(
  entries: readonly LedgerEntryInput[],
  options: LedgerEntriesOptions = {},
): Sql {
  const kinds = entries.map((entry) => entry.kind);
  const references = entries.map((entry) => entry.reference);
  const hashes = entries.map((entry) => contentSha256(entry.canonicalJson));
  const condition = options.when === undefined ? sql`` : sql` where ${options.when}`;
  return sql`insert into ledger_entry (kind, reference, content_sha256)
      select kind, reference, decode(sha256_hex, 'hex')
      from unnest(${kinds}::text[], ${references}::text[], ${hashes}::text[]) as e(kind, reference, sha256_hex)${condition}`;
}

const KINDS: readonly LedgerEntryKind[] = ['resource-version', 'audit-event', 'audit-access-batch'];

export function isLedgerEntryKind(value: unknown): value is LedgerEntryKind {
  return KINDS.some((kind) => kind === value);
}
