/**
 * Witness cosignatures (C2SP tlog-cosignature). A witness POSTs the checkpoint note with its
 * cosignature line; the node keeps a line only when the note body is exactly one of its own
 * checkpoints and the line verifies under a configured witness key. The signature is the
 * credential: no other authentication is needed, and nothing unverified is stored.
 */
import {
  type NoteVerifierKey,
  noteKeyId,
  noteSignatureLine,
  parseCheckpointBody,
  parseSignedNote,
  verifyNoteSignature,
} from '@concordia/fhir';
import type { SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import { checkpointOfSize, type StoredCheckpoint } from './checkpoints.ts';

export type CosignatureOutcome =
  | { ok: true; treeSize: number; accepted: string[]; cosigners: number }
  | { ok: false; status: 400 | 403 | 404 | 409; reason: string };

export async function acceptCosignatures(
  db: SqlExecutor,
  witnesses: readonly NoteVerifierKey[],
  noteText: string,
): Promise<CosignatureOutcome> {
  let note: ReturnType<typeof parseSignedNote>;
  let treeSize: number;
  try {
    note = parseSignedNote(noteText);
    treeSize = parseCheckpointBody(note.body).treeSize;
  } catch (error) {
    return { ok: false, status: 400, reason: error instanceof Error ? error.message : String(error) };
  }
  const checkpoint = await checkpointOfSize(db, treeSize);
  if (checkpoint === undefined)
    return { ok: false, status: 404, reason: `No checkpoint of size ${treeSize}` };
  if (checkpoint.note.slice(0, checkpoint.note.indexOf('\n\n') + 1) !== note.body) {
    return {
      ok: false,
      status: 409,
      reason: `The cosigned body differs from this log's checkpoint of size ${treeSize}`,
    };
  }
  const accepted: string[] = [];
  for (const witness of witnesses) {
    const verified = await verifyNoteSignature(note, witness);
    if (verified?.timestamp === undefined) continue;
    const line = note.signatures.find((signature) => signature.name === witness.name);
    if (line === undefined) continue;
    await db.query(
      sql`insert into ledger_cosignature (tree_size, witness_name, key_hash, signed_at, signature)
          values (${treeSize}, ${witness.name}, decode(${Buffer.from(line.keyId).toString('hex')}, 'hex'),
            ${verified.timestamp}, decode(${Buffer.from(line.signature).toString('hex')}, 'hex'))
          on conflict (tree_size, witness_name) do update
            set key_hash = excluded.key_hash, signed_at = excluded.signed_at, signature = excluded.signature,
              received_at = excluded.received_at
            where ledger_cosignature.signed_at < excluded.signed_at`,
    );
    accepted.push(witness.name);
  }
  if (accepted.length === 0) {
    return {
      ok: false,
      status: 403,
      reason: 'No cosignature from a configured witness key verifies on this checkpoint',
    };
  }
  const [row] = await db.query(
    sql`select count(*)::int as cosigners from ledger_cosignature
        where tree_size = ${treeSize} and witness_name = any(${witnesses.map((witness) => witness.name)}::text[])`,
  );
  return { ok: true, treeSize, accepted, cosigners: row === undefined ? 0 : readNumber(row, 'cosigners') };
}

/** The checkpoint note with the stored cosignature lines of the configured witnesses appended. */
export async function cosignedNote(
  db: SqlExecutor,
  checkpoint: StoredCheckpoint,
  witnesses: readonly NoteVerifierKey[],
): Promise<string> {
  const rows = await db.query(
    sql`select witness_name, encode(key_hash, 'hex') as key_hash, encode(signature, 'hex') as signature
        from ledger_cosignature where tree_size = ${checkpoint.treeSize} order by witness_name`,
  );
  let note = checkpoint.note;
  for (const row of rows) {
    const name = readString(row, 'witness_name');
    const witness = witnesses.find((key) => key.name === name);
    if (witness === undefined) continue;
    const keyId = Buffer.from(readString(row, 'key_hash'), 'hex');
    // Only lines whose key id is the configured key's: a rotated witness key's old lines are dropped.
    if (!keyId.equals(Buffer.from(await noteKeyId(witness)))) continue;
    note += noteSignatureLine(name, keyId, Buffer.from(readString(row, 'signature'), 'hex'));
  }
  return note;
}
