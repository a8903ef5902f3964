/**
 * The sequencer (Trillian / Certificate Transparency style): writers only append to the
 * `ledger_entry` queue, and their transactions commit in any order; the sequencer moves committed
 * entries into `ledger_leaf` with the next leaf indexes, in entry order, and stores the hashes of
 * the complete subtrees they finish at the stored levels (≥ `STORED_NODE_MIN_LEVEL`, tree-nodes.ts:
 * about one row per eight leaves; the lower ones are recomputed from the leaves). One sequencer at a time, across every node and the CLI,
 * through a transaction-level advisory lock: a second one finds the lock taken and does nothing,
 * so there is never a race for a leaf index. An entry whose transaction is still open is invisible
 * here and simply joins a later batch; nothing is skipped, because the queue is "whatever is
 * still in `ledger_entry`", not an id watermark.
 */
import type { Database, TransactionExecutor } from '../store/database.ts';
import { sql } from '../store/sql.ts';
import { readQueuedEntry } from './ledger-leaves.ts';
import { frontier, type NodeKey } from './merkle-ranges.ts';
import { leafHash, nodeHash } from './tree-hashes.ts';
import { isStoredLevel, nodeKeyText, readNodes, sequencedTreeSize } from './tree-nodes.ts';

export interface SequencedBatch {
  /** Entries placed in the tree by this batch. */
  sequenced: number;
  treeSize: number;
}

interface StackNode extends NodeKey {
  hash: Buffer;
}

/**
 * Places up to `batchSize` committed entries; `undefined` when another sequencer holds the lock.
 */
export async function sequenceBatch(db: Database, batchSize: number): Promise<SequencedBatch | undefined> {
  return db.transaction(async (tx) => {
    // One log per schema: the lock is keyed on it (advisory locks are database-wide), so that two
    // logs in one database (test schemas, several installations) never wait for each other.
    const [lock] = await tx.query(
      sql`select pg_try_advisory_xact_lock(
            hashtextextended('concordia:ledger-sequencer:' || current_schema(), 0)) as locked`,
    );
    if (lock?.locked !== true) return undefined;
    const treeSize = await sequencedTreeSize(tx);
    // Taking entries out of the queue and writing them as leaves happen in this one transaction:
    // an entry is either still queued or in the tree, never both and never neither.
    const taken = await tx.query(
      sql`delete from ledger_entry where entry_id in (
            select entry_id from ledger_entry order by entry_id limit ${batchSize})
          returning entry_id, kind, reference, encode(content_sha256, 'hex') as content_sha256, recorded_at`,
    );
    if (taken.length === 0) return { sequenced: 0, treeSize };
    const entries = taken.map(readQueuedEntry).sort((a, b) => a.entryId - b.entryId);
    const stack = await frontierStack(tx, treeSize);
    const written: StackNode[] = [];
    entries.forEach((entry, offset) => {
      let node: StackNode = { level: 0, position: treeSize + offset, hash: leafHash(entry.leaf) };
      // Two complete subtrees of one size side by side make the next size up (a binary counter).
      for (let top = stack.at(-1); top !== undefined && top.level === node.level; top = stack.at(-1)) {
        stack.pop();
        node = {
          level: node.level + 1,
          position: Math.floor(node.position / 2),
          hash: nodeHash(top.hash, node.hash),
        };
        if (isStoredLevel(node.level)) written.push(node);
      }
      stack.push(node);
    });
    const leaves = entries.map((entry) => entry.leaf);
    await tx.query(
      sql`insert into ledger_leaf (leaf_index, kind, reference, content_sha256, recorded_at)
          select ${treeSize} + ordinality - 1, kind, reference, decode(content_sha256, 'hex'), recorded_at
          from unnest(${leaves.map((leaf) => leaf.kind)}::text[], ${leaves.map((leaf) => leaf.reference)}::text[],
            ${leaves.map((leaf) => leaf.contentSha256)}::text[], ${leaves.map((leaf) => leaf.recordedAt)}::timestamptz[])
            with ordinality as l(kind, reference, content_sha256, recorded_at, ordinality)`,
    );
    if (written.length > 0)
      await tx.query(
        sql`insert into ledger_node (level, position, hash)
          select level, position, decode(hash, 'hex')
          from unnest(${written.map((node) => node.level)}::smallint[], ${written.map((node) => node.position)}::bigint[],
            ${written.map((node) => node.hash.toString('hex'))}::text[]) as n(level, position, hash)`,
      );
    return { sequenced: entries.length, treeSize: treeSize + entries.length };
  });
}

/** Sequences batch after batch until the queue is empty (or another sequencer holds the lock). */
export async function sequenceAll(
  db: Database,
  batchSize: number,
  onBatch: (batch: SequencedBatch) => void = () => undefined,
): Promise<SequencedBatch | undefined> {
  let total: SequencedBatch | undefined;
  for (;;) {
    const batch = await sequenceBatch(db, batchSize);
    if (batch === undefined) return total;
    total = { sequenced: (total?.sequenced ?? 0) + batch.sequenced, treeSize: batch.treeSize };
    if (batch.sequenced > 0) onBatch(batch);
    if (batch.sequenced < batchSize) return total;
  }
}

/** The frontier: stored nodes read, those below the stored levels recomputed from the last leaves. */
async function frontierStack(tx: TransactionExecutor, treeSize: number): Promise<StackNode[]> {
  const keys = frontier(treeSize);
  const hashes = await readNodes(tx, keys);
  return keys.map((key) => {
    const hash = hashes.get(nodeKeyText(key));
    if (hash === undefined)
      throw new Error(`Ledger node ${nodeKeyText(key)} is missing: the tree is damaged`);
    return { ...key, hash };
  });
}
