/**
 * Reading the stored tree (`ledger_node`, migration 0009): its size, and the hash of any leaf range
 * assembled from stored complete subtrees, in one query per proof or root.
 */
import type { SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import { completeSubtrees, type LeafRange, type NodeKey } from './merkle-ranges.ts';
import { EMPTY_TREE_HASH, foldSubtrees } from './tree-hashes.ts';

/** The number of sequenced leaves (a backward scan of the primary key: one index probe). */
export async function sequencedTreeSize(db: SqlExecutor): Promise<number> {
  const [row] = await db.query(
    sql`select position from ledger_node where level = 0 order by position desc limit 1`,
  );
  return row === undefined ? 0 : readNumber(row, 'position') + 1;
}

export async function readNodes(db: SqlExecutor, keys: readonly NodeKey[]): Promise<Map<string, Buffer>> {
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

export function nodeKeyText(key: NodeKey): string {
  return `${key.level}/${key.position}`;
}

/** MTH(D[start:end]) of each range, from the stored complete subtrees; fails if one is missing. */
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
