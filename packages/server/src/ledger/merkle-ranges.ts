/**
 * The shape of RFC 9162 §2.1 trees as leaf ranges, without any hashing: which ranges D[a:b] a
 * proof is made of, and which complete subtrees make up a range (`ledger_node` rows from
 * `STORED_NODE_MIN_LEVEL` up, recomputed from their leaves below it: tree-nodes.ts).
 * Every range the RFC's recursions produce starts at a multiple of a power of two at least as
 * large as the range's left part, so it splits into O(log n) complete subtrees.
 * Leaf counts stay below 2^53, so plain numbers with `/ 2 ** level` replace 32-bit bit operations.
 */

/** Leaves [start, end). */
export interface LeafRange {
  start: number;
  end: number;
}

/** The complete subtree of leaves [position·2^level, (position+1)·2^level). */
export interface NodeKey {
  level: number;
  position: number;
}

/** The largest power of two smaller than n (n > 1): RFC 9162's k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The complete subtrees whose hashes MTH(D[start:end]) is folded from, left to right. */
export function completeSubtrees(range: LeafRange): NodeKey[] {
  const nodes: NodeKey[] = [];
  let { start } = range;
  while (start < range.end) {
    const size = range.end - start;
    const width = size === 1 ? 1 : splitPoint(size) * 2 === size ? size : splitPoint(size);
    const level = Math.log2(width);
    if (start % width !== 0) throw new Error(`Range [${range.start}, ${range.end}) is not aligned`);
    nodes.push({ level, position: start / width });
    start += width;
  }
  return nodes;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[0:n]): the ranges whose hashes form the inclusion proof, in order. */
export function inclusionProofRanges(leafIndex: number, treeSize: number): LeafRange[] {
  if (leafIndex < 0 || leafIndex >= treeSize)
    throw new RangeError(`Leaf ${leafIndex} is not in a tree of ${treeSize}`);
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = treeSize;
  let m = leafIndex;
  // Iterating top-down collects the proof root-first; the RFC lists it leaf-first.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
      m -= k;
    }
  }
  return ranges.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true), as ranges in order. */
export function consistencyProofRanges(first: number, second: number): LeafRange[] {
  if (first <= 0 || first > second) throw new RangeError(`No consistency proof from ${first} to ${second}`);
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = second;
  let m = first;
  let complete = true;
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) ranges.push({ start, end });
  return ranges.reverse();
}

/** The complete subtrees of a tree of `size` leaves, largest first: the right edge a new leaf joins. */
export function frontier(size: number): NodeKey[] {
  return size === 0 ? [] : completeSubtrees({ start: 0, end: size });
}
