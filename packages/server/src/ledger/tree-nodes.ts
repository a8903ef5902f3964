/**
 * Reading the tree: its size, and the hash of any leaf range assembled from complete subtrees.
 *
 * Only the upper levels are stored: a `ledger_node` row for every complete subtree of level ≥
 * `STORED_NODE_MIN_LEVEL` (migrations 0009, 0017). A node below that level is the hash of at most
 * 2^k − 1 consecutive leaves of one stored-level block, recomputed from their `ledger_leaf` rows
 * (RFC 9162 §2.1.1 leaf hashes, then pairwise). The sequencer thus writes about 2^(1−k) node rows a
 * leaf instead of two, and a proof or root costs one node query plus at most one leaf query that
 * reads fewer than 2^k leaves around each end of the ranges it needs.
 */
import type { SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import { LEAF_COLUMNS, readSequencedLeaf } from './ledger-leaves.ts';
import { completeSubtrees, type LeafRange, type NodeKey } from './merkle-ranges.ts';
import { EMPTY_TREE_HASH, foldSubtrees, leafHash, subtreeHash } from './tree-hashes.ts';

/**
 * The lowest level with stored nodes (k): 4 keeps one node row per 8 leaves on average (levels 4,
 * 5, … add 1/16 + 1/32 + …) and recomputes at most 15 leaves a proof end (docs/audit-and-ledger.md
 * "Storage" has the measurements).
 */
export const STORED_NODE_MIN_LEVEL = 4;

export function isStoredLevel(level: number): boolean {
  return level >= STORED_NODE_MIN_LEVEL;
}

/** The number of sequenced leaves (a backward scan of `ledger_leaf`'s primary key: one index probe). */
export async function sequencedTreeSize(db: SqlExecutor): Promise<number> {
  const [row] = await db.query(sql`select leaf_index from ledger_leaf order by leaf_index desc limit 1`);
  return row === undefined ? 0 : readNumber(row, 'leaf_index') + 1;
}

/** The hashes of these complete subtrees: stored ones read, lower ones recomputed from their leaves. */
export async function readNodes(db: SqlExecutor, keys: readonly NodeKey[]): Promise<Map<string, Buffer>> {
  const stored = keys.filter((key) => isStoredLevel(key.level));
  const hashes = await readStoredNodes(db, stored);
  const computed = keys.filter((key) => !isStoredLevel(key.level));
  if (computed.length > 0) {
    const leaves = await readLeafHashes(db, computed.map(leavesBeneath));
    for (const key of computed) {
      const { start, end } = leavesBeneath(key);
      const beneath: Buffer[] = [];
      for (let index = start; index < end; index += 1) {
        const leaf = leaves.get(index);
        if (leaf === undefined) throw new Error(`Ledger leaf ${index} is missing`);
        beneath.push(leaf);
      }
      hashes.set(nodeKeyText(key), subtreeHash(beneath));
    }
  }
  return hashes;
}

async function readStoredNodes(db: SqlExecutor, keys: readonly NodeKey[]): Promise<Map<string, Buffer>> {
  const hashes = new Map<string, Buffer>();
  if (keys.length === 0) return hashes;
  const rows = await db.query(
    sql`select n.level, n.position, encode(n.hash, 'hex') as hash
        from unnest(${keys.map((key) => key.level)}::smallint[], ${keys.map((key) => key.position)}::bigint[])
          as k(level, position)
        join ledger_node n on n.level = k.level and n.position = k.position`,
  );
  for (const row of rows) {
    hashes.set(
      nodeKeyText({ level: readNumber(row, 'level'), position: readNumber(row, 'position') }),
      Buffer.from(readString(row, 'hash'), 'hex'),
    );
  }
  return hashes;
}

/** RFC 9162 leaf hashes of the leaves in these ranges (overlaps merged), keyed by leaf index: one query. */
export async function readLeafHashes(
  db: SqlExecutor,
  ranges: readonly LeafRange[],
): Promise<Map<number, Buffer>> {
  const merged = mergeRanges(ranges);
  const hashes = new Map<number, Buffer>();
  if (merged.length === 0) return hashes;
  const rows = await db.query(
    sql`select l.leaf_index, ${LEAF_COLUMNS}
        from unnest(${merged.map((range) => range.start)}::bigint[], ${merged.map((range) => range.end)}::bigint[])
          as r(first, past)
        join ledger_leaf l on l.leaf_index >= r.first and l.leaf_index < r.past`,
  );
  for (const row of rows) {
    const { leafIndex, leaf } = readSequencedLeaf(row);
    hashes.set(leafIndex, leafHash(leaf));
  }
  return hashes;
}

function leavesBeneath(key: NodeKey): LeafRange {
  const width = 2 ** key.level;
  return { start: key.position * width, end: (key.position + 1) * width };
}

function mergeRanges(ranges: readonly LeafRange[]): LeafRange[] {
  const sorted = [...ranges].sort((left, right) => left.start - right.start);
  const merged: LeafRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

export function nodeKeyText(key: NodeKey): string {
  return `${key.level}/${key.position}`;
}

/** MTH(D[start:end]) of each range, from its complete subtrees; fails if a stored one or a leaf is missing. */
export async function rangeHashes(db: SqlExecutor, ranges: readonly LeafRange[]): Promise<Buffer[]> {
  const decomposed = ranges.map((range) => completeSubtrees(range));
  const nodes = await readNodes(db, decomposed.flat());
  return decomposed.map((keys) =>
    foldSubtrees(
      keys.map((key) => {
        const hash = nodes.get(nodeKeyText(key));
        if (hash === undefined) throw new Error(`Ledger node ${nodeKeyText(key)} is missing`);
        return hash;
      }),
    ),
  );
}

export async function rootHash(db: SqlExecutor, treeSize: number): Promise<Buffer> {
  if (treeSize === 0) return EMPTY_TREE_HASH;
  const [root] = await rangeHashes(db, [{ start: 0, end: treeSize }]);
  if (root === undefined) throw new Error('No root hash');
  return root;
}
