/**
 * The C2SP checkpoint (https://c2sp.org/tlog-checkpoint): the body of a signed note whose lines
 * are the log origin, the tree size in decimal and the base64 root hash (then optional extension
 * lines, which the ledger does not use).
 */
import { fromBase64, toBase64 } from './bytes.ts';

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: Uint8Array;
}

export function formatCheckpointBody(checkpoint: Checkpoint): string {
  return `${checkpoint.origin}\n${checkpoint.treeSize}\n${toBase64(checkpoint.rootHash)}\n`;
}

export function parseCheckpointBody(body: string): Checkpoint {
  const [origin, size, root] = body.split('\n');
  if (origin === undefined || origin === '' || size === undefined || root === undefined) {
    throw new Error('A checkpoint body has an origin, a tree size and a root hash line');
  }
  // Decimal without leading zeroes (tlog-checkpoint.md).
  if (!/^(?:0|[1-9][0-9]*)$/.test(size)) throw new Error(`Bad checkpoint tree size: ${size}`);
  const treeSize = Number(size);
  if (!Number.isSafeInteger(treeSize)) throw new Error(`Checkpoint tree size out of range: ${size}`);
  const rootHash = fromBase64(root);
  if (rootHash.length !== 32) throw new Error('A checkpoint root hash is 32 bytes');
  return { origin, treeSize, rootHash };
}
