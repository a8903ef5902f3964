/**
 * Signed tree heads as C2SP checkpoints (https://c2sp.org/tlog-checkpoint): after the sequencer
 * grows the tree, the node signs "<origin>\n<size>\n<base64 root>\n" and keeps the note. Ed25519
 * signatures are deterministic and the tree is too, so two nodes signing one size write the same
 * note and `on conflict do nothing` is exact, not a race.
 */
import { type Checkpoint, formatCheckpointBody } from '@concordia/fhir';
import type { Database, SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import { currentLedgerKeyNumber, type NodeKeySigner } from './node-key.ts';
import { rootHash, sequencedTreeSize } from './tree-nodes.ts';

export interface StoredCheckpoint extends Checkpoint {
  /** The signed note: body, blank line, the node's signature line. */
  note: string;
  signedAt: string;
}

/** The node key was rotated while this signer was held: reload it (ensureLedgerSigner) and sign again. */
export class LedgerKeyRotated extends Error {
  constructor(readonly heldKey: number) {
    super(`The ledger key ${heldKey} was retired by a key rotation`);
  }
}

/**
 * Serialises signing with key rotation (key-rotation.ts): a rotation announces the new key at the
 * latest checkpoint, so no checkpoint may be signed with the retiring key after it.
 */
export async function takeSigningLock(tx: SqlExecutor): Promise<void> {
  await tx.query(
    sql`select pg_advisory_xact_lock(hashtextextended('concordia:ledger-signing:' || current_schema(), 0))`,
  );
}

/**
 * Signs the current tree unless its size already has a checkpoint; returns the latest checkpoint.
 * Throws `LedgerKeyRotated` when `signer` no longer holds the current key.
 */
export async function signCheckpoint(
  db: Database,
  signer: NodeKeySigner,
): Promise<StoredCheckpoint | undefined> {
  return db.transaction(async (tx) => {
    await takeSigningLock(tx);
    if ((await currentLedgerKeyNumber(tx)) !== signer.keyNumber) throw new LedgerKeyRotated(signer.keyNumber);
    const treeSize = await sequencedTreeSize(tx);
    const latest = await latestCheckpoint(tx);
    if (treeSize === 0 || (latest !== undefined && latest.treeSize >= treeSize)) return latest;
    // Never sign a tree that does not extend the last signed one: stored hashes were changed.
    if (latest !== undefined && !(await rootHash(tx, latest.treeSize)).equals(Buffer.from(latest.rootHash))) {
      throw new Error(
        `The stored ledger tree no longer has the root signed at size ${latest.treeSize}: refusing to sign; run concordia ledger verify`,
      );
    }
    const checkpoint: Checkpoint = {
      origin: signer.verifierKey.name,
      treeSize,
      rootHash: await rootHash(tx, treeSize),
    };
    const body = formatCheckpointBody(checkpoint);
    const note = `${body}\n${await signer.signatureLine(body)}`;
    await tx.query(
      sql`insert into ledger_checkpoint (tree_size, root_hash, note)
          values (${treeSize}, decode(${Buffer.from(checkpoint.rootHash).toString('hex')}, 'hex'), ${note})
          on conflict (tree_size) do nothing`,
    );
    return checkpointOfSize(tx, treeSize);
  });
}

const CHECKPOINT_COLUMNS = sql`tree_size, encode(root_hash, 'hex') as root_hash, note, signed_at`;

function readCheckpoint(row: Record<string, unknown>, origin: string): StoredCheckpoint {
  return {
    origin,
    treeSize: readNumber(row, 'tree_size'),
    rootHash: Buffer.from(readString(row, 'root_hash'), 'hex'),
    note: readString(row, 'note'),
    signedAt: readString(row, 'signed_at'),
  };
}

function originOf(note: string): string {
  return note.slice(0, note.indexOf('\n'));
}

export async function latestCheckpoint(db: SqlExecutor): Promise<StoredCheckpoint | undefined> {
  const [row] = await db.query(
    sql`select ${CHECKPOINT_COLUMNS} from ledger_checkpoint order by tree_size desc limit 1`,
  );
  return row === undefined ? undefined : readCheckpoint(row, originOf(readString(row, 'note')));
}

export async function checkpointOfSize(
  db: SqlExecutor,
  treeSize: number,
): Promise<StoredCheckpoint | undefined> {
  const [row] = await db.query(
    sql`select ${CHECKPOINT_COLUMNS} from ledger_checkpoint where tree_size = ${treeSize}`,
  );
  return row === undefined ? undefined : readCheckpoint(row, originOf(readString(row, 'note')));
}

/**
 * The latest checkpoint that at least `quorum` of the currently configured witnesses have
 * cosigned (a witness removed from the configuration no longer counts).
 */
export async function latestConfirmedCheckpoint(
  db: SqlExecutor,
  witnessNames: readonly string[],
  quorum: number,
): Promise<StoredCheckpoint | undefined> {
  const [row] = await db.query(
    sql`select ${CHECKPOINT_COLUMNS} from ledger_checkpoint c
        where (select count(*) from ledger_cosignature s
               where s.tree_size = c.tree_size and s.witness_name = any(${witnessNames}::text[])) >= ${quorum}
        order by tree_size desc limit 1`,
  );
  return row === undefined ? undefined : readCheckpoint(row, originOf(readString(row, 'note')));
}
