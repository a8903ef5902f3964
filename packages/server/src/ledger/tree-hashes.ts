/**
 * RFC 9162 §2.1.1 hashing on the server, synchronous with node:crypto (the isomorphic verifier
 * in @concordia/fhir uses WebCrypto, which is asynchronous): leaf = SHA-256(0x00 ‖ data),
 * node = SHA-256(0x01 ‖ left ‖ right).
 */
import { createHash } from 'node:crypto';
import { type LedgerLeaf, ledgerLeafData } from '@concordia/fhir';

const LEAF_PREFIX = Buffer.of(0);
const NODE_PREFIX = Buffer.of(1);

export function leafHash(leaf: LedgerLeaf): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(ledgerLeafData(leaf)).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** MTH of consecutive complete subtrees (left to right): the right part of each split is folded first. */
export function foldSubtrees(hashes: readonly Uint8Array[]): Buffer {
  const last = hashes.at(-1);
  if (last === undefined) throw new Error('No subtrees to fold');
  let hash: Buffer = Buffer.from(last);
  for (let index = hashes.length - 2; index >= 0; index -= 1) {
    const left = hashes[index];
    if (left !== undefined) hash = nodeHash(left, hash);
  }
  return hash;
}

/** MTH of a complete subtree (2^j leaves) from its leaf hashes: pairwise, level by level. */
export function subtreeHash(leafHashes: readonly Buffer[]): Buffer {
  let level = [...leafHashes];
  while (level.length > 1) {
    const above: Buffer[] = [];
    for (let index = 0; index + 1 < level.length; index += 2) {
      const left = level[index];
      const right = level[index + 1];
      if (left !== undefined && right !== undefined) above.push(nodeHash(left, right));
    }
    level = above;
  }
  const [root] = level;
  if (root === undefined || !Number.isInteger(Math.log2(leafHashes.length)))
    throw new Error(`${leafHashes.length} leaves are not a complete subtree`);
  return root;
}

/** MTH of the empty tree (RFC 9162 §2.1.1): SHA-256 of nothing. */
export const EMPTY_TREE_HASH = createHash('sha256').digest();
