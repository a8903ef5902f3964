/**
 * Reading ledger entries: sequenced ones (`ledger_leaf`, by leaf index or by the reference of the
 * row they record) and queued ones (`ledger_entry`, not yet in the tree).
 */
import type { LedgerLeaf } from '@concordia/fhir';
import type { Row, SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { type Sql, sql } from '../store/sql.ts';
import { isLedgerEntryKind } from './ledger-entries.ts';

/** A sequenced entry: what leaf `leafIndex` commits to. */
export interface SequencedLeaf {
  leafIndex: number;
  leaf: LedgerLeaf;
}

/** An entry still waiting in the queue. */
export interface QueuedEntry {
  entryId: number;
  leaf: LedgerLeaf;
}

export const LEAF_COLUMNS = sql`kind, reference, encode(content_sha256, 'hex') as content_sha256, recorded_at`;

function readLeaf(row: Row): LedgerLeaf {
  const kind = readString(row, 'kind');
  if (!isLedgerEntryKind(kind)) throw new Error(`Ledger entry of unknown kind ${kind}`);
  return {
    kind,
    reference: readString(row, 'reference'),
    recordedAt: readString(row, 'recorded_at'),
    contentSha256: readString(row, 'content_sha256'),
  };
}

export function readSequencedLeaf(row: Row): SequencedLeaf {
  return { leafIndex: readNumber(row, 'leaf_index'), leaf: readLeaf(row) };
}

export function readQueuedEntry(row: Row): QueuedEntry {
  return { entryId: readNumber(row, 'entry_id'), leaf: readLeaf(row) };
}

async function oneLeaf(db: SqlExecutor, where: Sql): Promise<SequencedLeaf | undefined> {
  const [row] = await db.query(
    sql`select leaf_index, ${LEAF_COLUMNS} from ledger_leaf where ${where} order by leaf_index limit 1`,
  );
  return row === undefined ? undefined : readSequencedLeaf(row);
}

export function leafByIndex(db: SqlExecutor, leafIndex: number): Promise<SequencedLeaf | undefined> {
  return oneLeaf(db, sql`leaf_index = ${leafIndex}`);
}

export function leafByReference(db: SqlExecutor, reference: string): Promise<SequencedLeaf | undefined> {
  return oneLeaf(db, sql`reference = ${reference}`);
}

/** Whether an entry for this row is still queued (committed, not yet in the tree). */
export async function isQueued(db: SqlExecutor, reference: string): Promise<boolean> {
  const [row] = await db.query(
    sql`select 1 as queued from ledger_entry where reference = ${reference} limit 1`,
  );
  return row !== undefined;
}
