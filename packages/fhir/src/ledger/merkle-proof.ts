/**
 * Verification of Merkle tree proofs exactly as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
 * (consistency) state the algorithms, over hashes of RFC 9162 §2.1.1:
 * leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right).
 * Isomorphic: this is what a client runs against a node's checkpoint.
 */
import { concatBytes, equalBytes, sha256 } from './bytes.ts';

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

export function merkleLeafHash(data: Uint8Array): Promise<Uint8Array> {
  return sha256(LEAF_PREFIX, data);
}

export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(NODE_PREFIX, concatBytes(left, right));
}

/**
 * The root that an inclusion proof implies for a leaf (§2.1.3.2 steps 1–5), or `undefined` when the
 * proof has the wrong shape for (leafIndex, treeSize). Compare it with the checkpoint's root.
 */
export async function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<Uint8Array | undefined> {
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize) || leafIndex < 0) return undefined;
  if (leafIndex >= treeSize) return undefined;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = await merkleNodeHash(p, r);
      if (fn % 2 === 0) {
        // "right-shift both fn and sn equally until either LSB(fn) is set or fn is 0"
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await merkleNodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

export async function verifyInclusionProof(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Promise<boolean> {
  const computed = await rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  return computed !== undefined && equalBytes(computed, root);
}

/** RFC 9162 §2.1.4.2: does `proof` show that the tree of size `first` is a prefix of the one of size `second`? */
export async function verifyConsistencyProof(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<boolean> {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second)
    return false;
  if (first === second) return proof.length === 0 && equalBytes(firstRoot, secondRoot);
  // The empty tree is a prefix of every tree; nothing to prove (§2.1.4: proofs are for 0 < first).
  if (first === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  // Step 1: if first is an exact power of 2, prepend first_hash to the path.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  const [head, ...rest] = path;
  if (head === undefined) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = head;
  let sr = head;
  for (const c of rest) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await merkleNodeHash(c, fr);
      sr = await merkleNodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = await merkleNodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, firstRoot) && equalBytes(sr, secondRoot);
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.floor(Math.log2(n)) === n;
}
