/**
 * Inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4) for any tree size the log has
 * reached, assembled from complete subtrees (tree-nodes.ts): O(log n) stored node rows in one
 * query, and the leaves beneath the few lower nodes, fewer than 2^k around each end, in one more.
 */
import type { SqlExecutor } from '../store/database.ts';
import { consistencyProofRanges, inclusionProofRanges } from './merkle-ranges.ts';
import { rangeHashes } from './tree-nodes.ts';

export function inclusionProof(db: SqlExecutor, leafIndex: number, treeSize: number): Promise<Buffer[]> {
  return rangeHashes(db, inclusionProofRanges(leafIndex, treeSize));
}

/** The proof that the tree of size `first` is a prefix of the one of size `second`; empty when first is 0 or equal. */
export async function consistencyProof(db: SqlExecutor, first: number, second: number): Promise<Buffer[]> {
  if (first === 0 || first === second) return [];
  return rangeHashes(db, consistencyProofRanges(first, second));
}
