/**
 * Step 2 of `ledger verify` (ledger-verify.ts): the tree rebuilt from the entries, leaf by leaf in
 * a compact range (O(log n) memory), against what is stored and what was signed.
 *
 * Only subtrees of level ≥ `STORED_NODE_MIN_LEVEL` (k) are stored (tree-nodes.ts), so each stored
 * node is compared with what lies directly beneath it — its 2^k leaves at level k, its two stored
 * children above — and the rebuild goes on with the stored hash, as proofs use it. A change then
 * shows once, where it was made, and is told apart by what lies *above* it:
 *
 * - leaves changed under a level-k node: the node disagrees with its leaves, its parent (or the
 *   signed roots of the checkpoints it is part of) still agrees with it. Two swapped leaves are
 *   found by trying the swaps (a block has 2^k leaves); otherwise the entries whose rows no longer
 *   match are named, or else the block's range;
 * - a stored node changed: it disagrees with what is beneath it *and* with its parent or signed root;
 * - leaves and stored nodes rewritten together (an operator re-sequencing a changed history): only
 *   the signed roots disagree (checkpoint-mismatch).
 *
 * Leaves after the last complete block are covered by the signed roots alone: no hash of theirs is
 * stored (none was signed either, so the stored level-0 hashes of earlier versions proved no more).
 */
import type { SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { LedgerFinding } from './ledger-findings.ts';
import type { NodeKey } from './merkle-ranges.ts';
import { nodeHash, subtreeHash } from './tree-hashes.ts';
import { isStoredLevel, nodeKeyText, STORED_NODE_MIN_LEVEL } from './tree-nodes.ts';

export interface SignedRoot {
  treeSize: number;
  rootHash: Buffer;
}

/** A leaf as the rebuild sees it: its hash recomputed from the entry, or none when the entry is gone. */
export interface RebuiltLeaf {
  index: number;
  hash: Buffer;
  reference?: string;
  missing: boolean;
}

interface FrontierNode extends NodeKey {
  /** The stored hash at stored levels, else the one computed from the two beneath. */
  hash: Buffer;
}

/** A stored node that is not the hash of what is beneath it. */
interface Disagreement extends NodeKey {
  stored: Buffer;
  /** At level k: its leaves, for locating what changed among them. */
  leaves?: RebuiltLeaf[];
}

/** A level-k node whose leaves no longer hash to it. */
interface LeafSuspect extends Disagreement {
  /** Whether a parent or a signed root confirms the stored hash (else it may be what changed). */
  covered: boolean;
}

interface CheckpointMismatch {
  treeSize: number;
  /** The stored-level nodes its root was folded from. */
  frontier: Set<string>;
}

const BLOCK = 2 ** STORED_NODE_MIN_LEVEL;
/** Cross-block swaps are tried between at most this many disagreeing blocks (k² leaf pairs each). */
const CROSS_BLOCK_SEARCH_LIMIT = 16;

export class TreeRebuild {
  private readonly stack: FrontierNode[] = [];
  private block: RebuiltLeaf[] = [];
  private readonly disagreements: Disagreement[] = [];
  private readonly checkpointMismatches: CheckpointMismatch[] = [];
  private readonly missingLeaves: number[] = [];
  private checkpointCursor = 0;
  private size = 0;

  constructor(
    private readonly checkpoints: readonly SignedRoot[],
    private readonly findings: LedgerFinding[],
  ) {}

  /** Appends the next leaf; `stored` holds the stored nodes it may complete (`storedNodes`). */
  append(leaf: RebuiltLeaf, stored: ReadonlyMap<string, Buffer>): void {
    if (leaf.index % BLOCK === 0) this.block = [];
    this.block.push(leaf);
    if (leaf.missing) this.missingLeaves.push(leaf.index);
    let node: FrontierNode = { level: 0, position: leaf.index, hash: leaf.hash };
    // Two complete subtrees of one size side by side make the next size up (a binary counter).
    for (
      let top = this.stack.at(-1);
      top !== undefined && top.level === node.level;
      top = this.stack.at(-1)
    ) {
      this.stack.pop();
      const key = { level: node.level + 1, position: Math.floor(node.position / 2) };
      node = { ...key, hash: nodeHash(top.hash, node.hash) };
      if (!isStoredLevel(key.level)) continue;
      const storedHash = stored.get(nodeKeyText(key));
      if (storedHash === undefined) {
        this.findings.push({
          kind: 'altered-node',
          detail: `the subtree hash at level ${key.level}, position ${key.position} is not stored`,
        });
        continue;
      }
      if (!storedHash.equals(node.hash)) {
        this.disagreements.push({
          ...key,
          stored: storedHash,
          ...(key.level === STORED_NODE_MIN_LEVEL ? { leaves: [...this.block] } : {}),
        });
      }
      node = { ...key, hash: storedHash };
    }
    this.stack.push(node);
    this.size = leaf.index + 1;
    this.compareCheckpoints();
  }

  private compareCheckpoints(): void {
    for (; this.checkpointCursor < this.checkpoints.length; this.checkpointCursor += 1) {
      const checkpoint = this.checkpoints[this.checkpointCursor];
      if (checkpoint === undefined || checkpoint.treeSize > this.size) return;
      if (checkpoint.treeSize !== this.size || foldFrontier(this.stack).equals(checkpoint.rootHash)) continue;
      this.checkpointMismatches.push({
        treeSize: this.size,
        frontier: new Set(this.stack.filter((node) => isStoredLevel(node.level)).map(nodeKeyText)),
      });
    }
  }

  /**
   * Reports what the rebuild found, once every leaf is appended. The findings already made by step 1
   * (rows that no longer match their entries) name the likely changed entries of a block.
   */
  finish(): void {
    for (const checkpoint of this.checkpoints.slice(this.checkpointCursor)) {
      this.findings.push({
        kind: 'checkpoint-mismatch',
        detail: `a checkpoint of size ${checkpoint.treeSize} was signed but the tree has only ${this.size} leaves`,
      });
    }
    const disagreeing = new Set(this.disagreements.map(nodeKeyText));
    const explained = new Set<string>();
    const explainedCheckpoints = new Set<number>();
    const leafSuspects: LeafSuspect[] = [];
    // Lowest levels first: a changed node explains its parent's disagreement with it.
    for (const node of [...this.disagreements].sort((left, right) => left.level - right.level)) {
      const key = nodeKeyText(node);
      const parent = { level: node.level + 1, position: Math.floor(node.position / 2) };
      const parentComplete = (parent.position + 1) * 2 ** parent.level <= this.size;
      const end = (node.position + 1) * 2 ** node.level;
      const signedAbove = this.checkpointMismatches.filter((mismatch) => mismatch.frontier.has(key));
      const aboveDisagrees = parentComplete ? disagreeing.has(nodeKeyText(parent)) : signedAbove.length > 0;
      if (aboveDisagrees) {
        explained.add(nodeKeyText(parent));
        for (const mismatch of signedAbove) explainedCheckpoints.add(mismatch.treeSize);
        this.findings.push({
          kind: 'altered-node',
          detail: `the subtree hash at level ${node.level}, position ${node.position} differs from both what is beneath it and what was built on it`,
        });
      } else if (node.leaves !== undefined) {
        if (!explained.has(key))
          leafSuspects.push({ ...node, covered: parentComplete || this.signedCovers(end) });
      } else if (!explained.has(key)) {
        this.findings.push({
          kind: 'altered-node',
          detail: `the stored subtrees beneath level ${node.level}, position ${node.position} no longer hash to it`,
        });
      }
    }
    const changedBlocks = this.locateLeafChanges(leafSuspects);
    for (const mismatch of this.checkpointMismatches) {
      // A root signed while the block was still filling folded its leaves directly: the change found
      // in the block explains it.
      const tailBlock = mismatch.treeSize % BLOCK === 0 ? undefined : Math.floor(mismatch.treeSize / BLOCK);
      if (tailBlock !== undefined && changedBlocks.has(tailBlock)) continue;
      if (explainedCheckpoints.has(mismatch.treeSize) || this.missingInTail(mismatch.treeSize)) continue;
      this.findings.push({
        kind: 'checkpoint-mismatch',
        detail: `the rebuilt root of size ${mismatch.treeSize} differs from the signed checkpoint's root`,
      });
    }
  }

  /** A missing entry among the leaves a root of this size folds directly (already reported as missing-entry). */
  private missingInTail(treeSize: number): boolean {
    const tailStart = treeSize - (treeSize % BLOCK);
    return this.missingLeaves.some((index) => index >= tailStart && index < treeSize);
  }

  /** Reports the changed leaves of each block; returns the blocks (positions) whose leaves changed. */
  private locateLeafChanges(suspects: readonly LeafSuspect[]): Set<number> {
    const changed = new Set(suspects.filter((block) => block.covered).map((block) => block.position));
    const remaining = suspects.filter((block) => !(block.leaves ?? []).some((leaf) => leaf.missing));
    const swapped = new Set<LeafSuspect>();
    for (const block of remaining) {
      const swap = swapWithin(block);
      if (swap !== undefined) {
        swapped.add(block);
        this.reportSwap(swap);
      }
    }
    const unexplained = remaining.filter((block) => !swapped.has(block)).slice(0, CROSS_BLOCK_SEARCH_LIMIT);
    for (const [offset, first] of unexplained.entries()) {
      for (const second of unexplained.slice(offset + 1)) {
        if (swapped.has(first) || swapped.has(second)) continue;
        const swap = swapAcross(first, second);
        if (swap === undefined) continue;
        swapped.add(first);
        swapped.add(second);
        this.reportSwap(swap);
      }
    }
    for (const block of remaining.filter((candidate) => !swapped.has(candidate)))
      this.reportAlteredLeaves(block);
    return changed;
  }

  private reportSwap([left, right]: readonly [RebuiltLeaf, RebuiltLeaf]): void {
    for (const [leaf, other] of [
      [left, right],
      [right, left],
    ] as const) {
      this.findings.push({
        kind: 'reordered-leaf',
        leafIndex: leaf.index,
        ...(leaf.reference !== undefined ? { reference: leaf.reference } : {}),
        detail: `the entry is at leaf ${leaf.index} but the tree holds it at leaf ${other.index}`,
      });
    }
  }

  /** The entries of the block whose rows no longer match them are the likely changed ones; else the block. */
  private reportAlteredLeaves(block: LeafSuspect): void {
    const leaves = block.leaves ?? [];
    const first = leaves[0]?.index ?? block.position * BLOCK;
    const range = `leaves ${first}–${first + BLOCK - 1}`;
    const changedRows = new Set(
      this.findings
        .filter((finding) => finding.kind === 'altered-content' || finding.kind === 'missing-row')
        .map((finding) => finding.leafIndex),
    );
    const suspects = leaves.filter((leaf) => changedRows.has(leaf.index));
    if (!block.covered) {
      // Nothing built on the block yet: its stored hash may be what changed.
      this.findings.push({
        kind: 'altered-node',
        detail: `the subtree hash at level ${block.level}, position ${block.position} differs from ${range}, and nothing signed covers it yet`,
      });
      return;
    }
    if (suspects.length === 0) {
      this.findings.push({
        kind: 'altered-leaf',
        detail: `one of the entries of ${range} no longer hashes to the stored subtree (level ${block.level}, position ${block.position})`,
      });
      return;
    }
    for (const leaf of suspects) {
      this.findings.push({
        kind: 'altered-leaf',
        leafIndex: leaf.index,
        ...(leaf.reference !== undefined ? { reference: leaf.reference } : {}),
        detail: `the entries of ${range} no longer hash to the stored subtree; this one no longer matches its row`,
      });
    }
  }

  private signedCovers(size: number): boolean {
    return this.checkpoints.some((checkpoint) => checkpoint.treeSize >= size);
  }
}

function swapWithin(block: Disagreement): [RebuiltLeaf, RebuiltLeaf] | undefined {
  const leaves = block.leaves ?? [];
  const hashes = leaves.map((leaf) => leaf.hash);
  for (let i = 0; i < leaves.length; i += 1) {
    for (let j = i + 1; j < leaves.length; j += 1) {
      const swapped = [...hashes];
      [swapped[i], swapped[j]] = [hashes[j] as Buffer, hashes[i] as Buffer];
      const left = leaves[i];
      const right = leaves[j];
      if (left !== undefined && right !== undefined && subtreeHash(swapped).equals(block.stored))
        return [left, right];
    }
  }
  return undefined;
}

function swapAcross(first: Disagreement, second: Disagreement): [RebuiltLeaf, RebuiltLeaf] | undefined {
  const a = first.leaves ?? [];
  const b = second.leaves ?? [];
  for (const [i, left] of a.entries()) {
    for (const [j, right] of b.entries()) {
      const firstHashes = a.map((leaf, index) => (index === i ? right.hash : leaf.hash));
      if (!subtreeHash(firstHashes).equals(first.stored)) continue;
      const secondHashes = b.map((leaf, index) => (index === j ? left.hash : leaf.hash));
      if (subtreeHash(secondHashes).equals(second.stored)) return [left, right];
    }
  }
  return undefined;
}

function foldFrontier(stack: readonly { hash: Buffer }[]): Buffer {
  let root: Buffer | undefined;
  for (let index = stack.length - 1; index >= 0; index -= 1) {
    const hash = stack[index]?.hash;
    if (hash !== undefined) root = root === undefined ? hash : nodeHash(hash, root);
  }
  if (root === undefined) throw new Error('empty tree');
  return root;
}

/**
 * Stored nodes completed by leaves [start, end) — whose last leaf is in that page — keyed
 * `level/position`: one index range per stored level.
 */
export async function storedNodes(db: SqlExecutor, start: number, end: number): Promise<Map<string, Buffer>> {
  const levels: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  for (let level = STORED_NODE_MIN_LEVEL; 2 ** level <= end; level += 1) {
    levels.push(level);
    from.push(Math.floor(start / 2 ** level));
    to.push(Math.floor(end / 2 ** level));
  }
  const nodes = new Map<string, Buffer>();
  if (levels.length === 0) return nodes;
  const rows = await db.query(
    sql`select n.level, n.position, encode(n.hash, 'hex') as hash
        from unnest(${levels}::smallint[], ${from}::bigint[], ${to}::bigint[]) as l(level, first, past)
        join ledger_node n on n.level = l.level and n.position >= l.first and n.position < l.past`,
  );
  for (const row of rows)
    nodes.set(
      nodeKeyText({ level: readNumber(row, 'level'), position: readNumber(row, 'position') }),
      Buffer.from(readString(row, 'hash'), 'hex'),
    );
  return nodes;
}
