/**
 * Rotation of the node's checkpoint key without starting a new log. C2SP signed notes identify a
 * key by its name *and* key id, and verifiers ignore signatures by keys they do not know
 * (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint "Signatures": this "enables
 * log key rotation"), so the origin stays and only the key changes. What a witness needs is a
 * statement, signed by the key it trusts, that names the key to trust next. That statement is a
 * **key-transition note**: a tlog-checkpoint of the log at the moment of rotation with one
 * extension line,
 *
 *     hie.example.org/ledger
 *     20852163
 *     CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
 *     concordia/key-transition <old verifier key> <new verifier key>
 *
 *     — hie.example.org/ledger <signature by the old key>
 *     — hie.example.org/ledger <signature by the new key>
 *
 * signed by the retiring key (it authorises the new one, and commits to the tree as it was: the
 * last checkpoint that key signs) and by the new key (proof that the operator holds it). A tool
 * that does not know the extension sees an ordinary checkpoint signed by the key it trusts.
 * Checkpoints of size ≤ the transition's are signed by the old key, later ones by the new key.
 */
import {
  type Checkpoint,
  formatCheckpointBody,
  formatVerifierKey,
  type NoteVerifierKey,
  parseCheckpointBody,
  parseSignedNote,
  parseVerifierKey,
  verifyNoteSignature,
} from '@concordia/fhir';
import type { SecretBox } from '../identity/secret-box.ts';
import type { Database, SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import { latestCheckpoint, takeSigningLock } from './checkpoints.ts';
import {
  ensureLedgerSigner,
  generateNodeKey,
  type NodeKeySigner,
  nodeKeySigner,
  storeNodeKey,
} from './node-key.ts';
import { EMPTY_TREE_HASH } from './tree-hashes.ts';

export const KEY_TRANSITION_EXTENSION = 'concordia/key-transition';

export interface KeyTransition {
  /** The log as the old key last signed it; the old key signed nothing larger. */
  checkpoint: Checkpoint;
  oldKey: NoteVerifierKey;
  newKey: NoteVerifierKey;
}

export interface KeyRotation {
  retired: NodeKeySigner;
  current: NodeKeySigner;
  transition: KeyTransition;
  /** The key-transition note, as `/ledger/key-transitions` serves it. */
  note: string;
}

/**
 * Retires the current key: under the signing lock (so no checkpoint signed by the old key can
 * follow the transition), creates the next key, signs the transition note at the latest
 * checkpoint with both keys and stores it. Servers pick the new key up at their next round.
 */
export async function rotateLedgerKey(db: Database, box: SecretBox, origin: string): Promise<KeyRotation> {
  return db.transaction(async (tx) => {
    await takeSigningLock(tx);
    const retired = await ensureLedgerSigner(tx, box, origin);
    const latest = await latestCheckpoint(tx);
    const checkpoint: Checkpoint = latest ?? { origin, treeSize: 0, rootHash: EMPTY_TREE_HASH };
    if (checkpoint.origin !== origin) {
      throw new Error(
        `The latest checkpoint is of origin ${checkpoint.origin}, not ${origin}: rotate with the CONCORDIA_LEDGER_ORIGIN the log signs under`,
      );
    }
    const privateKey = generateNodeKey();
    const current = nodeKeySigner(origin, retired.keyNumber + 1, privateKey);
    await storeNodeKey(tx, box, current.keyNumber, privateKey);
    const body = `${formatCheckpointBody(checkpoint)}${KEY_TRANSITION_EXTENSION} ${await formatVerifierKey(retired.verifierKey)} ${await formatVerifierKey(current.verifierKey)}\n`;
    const note = `${body}\n${await retired.signatureLine(body)}${await current.signatureLine(body)}`;
    await tx.query(
      sql`insert into ledger_key_transition (key_id, tree_size, note)
          values (${current.keyNumber}, ${checkpoint.treeSize}, ${note})`,
    );
    return {
      retired,
      current,
      note,
      transition: { checkpoint, oldKey: retired.verifierKey, newKey: current.verifierKey },
    };
  });
}

/** Every key-transition note of the log, oldest first. */
export async function keyTransitionNotes(db: SqlExecutor): Promise<{ keyNumber: number; note: string }[]> {
  const rows = await db.query(sql`select key_id, note from ledger_key_transition order by key_id`);
  return rows.map((row) => ({ keyNumber: readNumber(row, 'key_id'), note: readString(row, 'note') }));
}

export type KeyTransitionVerdict = { ok: true; transition: KeyTransition } | { ok: false; reason: string };

/**
 * A key-transition note checked against the key its reader trusts: it must name that key as the
 * old one, be signed by it, and be signed by the new key it announces (same origin, a log key).
 * Nothing in a note that fails is to be believed.
 */
export async function verifyKeyTransition(
  text: string,
  trusted: NoteVerifierKey,
): Promise<KeyTransitionVerdict> {
  let checkpoint: Checkpoint;
  let oldKey: NoteVerifierKey;
  let newKey: NoteVerifierKey;
  let note: ReturnType<typeof parseSignedNote>;
  try {
    note = parseSignedNote(text);
    const lines = note.body.slice(0, -1).split('\n');
    const extension = lines[3]?.split(' ');
    if (lines.length !== 4 || extension?.length !== 3 || extension[0] !== KEY_TRANSITION_EXTENSION)
      throw new Error(`not a checkpoint with one ${KEY_TRANSITION_EXTENSION} extension line`);
    checkpoint = parseCheckpointBody(note.body);
    oldKey = await parseVerifierKey(extension[1] ?? '');
    newKey = await parseVerifierKey(extension[2] ?? '');
  } catch (error) {
    return {
      ok: false,
      reason: `unreadable key transition: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const trustedText = await formatVerifierKey(trusted);
  if ((await formatVerifierKey(oldKey)) !== trustedText)
    return { ok: false, reason: `the key transition retires another key than ${trustedText}` };
  if (newKey.type !== trusted.type || newKey.name !== trusted.name || checkpoint.origin !== trusted.name)
    return { ok: false, reason: 'the key transition announces a key of another log or kind' };
  if ((await verifyNoteSignature(note, trusted)) === undefined)
    return { ok: false, reason: `the key transition is not signed by ${trustedText}` };
  if ((await verifyNoteSignature(note, newKey)) === undefined)
    return { ok: false, reason: 'the key transition is not signed by the key it announces' };
  return { ok: true, transition: { checkpoint, oldKey, newKey } };
}
