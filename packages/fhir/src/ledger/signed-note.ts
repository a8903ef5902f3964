/**
 * C2SP signed notes (https://c2sp.org/signed-note) and the two signature kinds the ledger uses:
 * the log's Ed25519 note signature (type 0x01) and witnesses' Ed25519 cosignatures
 * (https://c2sp.org/tlog-cosignature, type 0x04, a timestamped signature over
 * "cosignature/v1\ntime <t>\n" + the note body). Parsing and verification only; isomorphic.
 */
import { concatBytes, fromBase64, sha256, toBase64, toHex, utf8, verifyEd25519 } from './bytes.ts';

export const ED25519_NOTE_SIGNATURE = 0x01;
export const ED25519_COSIGNATURE = 0x04;

/** A signature line `— <name> <base64(key id ‖ signature)>`, not yet verified. */
export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  signature: Uint8Array;
}

export interface SignedNote {
  /** The text that was signed: every line up to and including the blank line's preceding newline. */
  body: string;
  signatures: NoteSignature[];
}

/** A verifier key: who signs, with which Ed25519 public key, and in which role. */
export interface NoteVerifierKey {
  name: string;
  publicKey: Uint8Array;
  type: typeof ED25519_NOTE_SIGNATURE | typeof ED25519_COSIGNATURE;
}

const SIGNATURE_LINE = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/;

/** Key names are non-empty, without spaces or `+` (signed-note.md "Verifier keys"). */
export function isNoteKeyName(name: string): boolean {
  return /^[^\s+]+$/u.test(name);
}

export function parseSignedNote(text: string): SignedNote {
  const split = text.lastIndexOf('\n\n');
  if (split < 0 || !text.endsWith('\n'))
    throw new Error('A signed note is a body, a blank line and signature lines');
  const body = text.slice(0, split + 1);
  const lines = text.slice(split + 2, -1).split('\n');
  const signatures = lines.map((line) => {
    const match = SIGNATURE_LINE.exec(line);
    if (match === null) throw new Error(`Not a note signature line: ${line.slice(0, 80)}`);
    const [, name = '', encoded = ''] = match;
    const bytes = fromBase64(encoded);
    if (bytes.length < 5) throw new Error(`Note signature of ${name} is too short`);
    return { name, keyId: bytes.slice(0, 4), signature: bytes.slice(4) };
  });
  if (signatures.length === 0) throw new Error('A signed note has at least one signature');
  return { body, signatures };
}

/** SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4] (signed-note.md, tlog-cosignature.md). */
export async function noteKeyId(key: NoteVerifierKey): Promise<Uint8Array> {
  return (await sha256(utf8(`${key.name}\n`), Uint8Array.of(key.type), key.publicKey)).slice(0, 4);
}

/** The message a witness signs for a cosignature at `timestamp` (seconds since the epoch). */
export function cosignedMessage(body: string, timestamp: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp}\n${body}`);
}

export interface VerifiedSignature {
  name: string;
  /** For a cosignature: the witness's timestamp (seconds since the epoch). */
  timestamp?: number;
}

/**
 * The signature of `key` on the note, verified; `undefined` when the note carries no line with
 * the key's name and key id, or when that signature does not verify.
 */
export async function verifyNoteSignature(
  note: SignedNote,
  key: NoteVerifierKey,
): Promise<VerifiedSignature | undefined> {
  const keyId = await noteKeyId(key);
  for (const line of note.signatures) {
    if (line.name !== key.name || !line.keyId.every((byte, index) => byte === keyId[index])) continue;
    if (key.type === ED25519_NOTE_SIGNATURE) {
      if (line.signature.length !== 64) continue;
      if (await verifyEd25519(key.publicKey, line.signature, utf8(note.body))) return { name: key.name };
    } else {
      if (line.signature.length !== 72) continue;
      const view = new DataView(line.signature.buffer, line.signature.byteOffset, 8);
      const timestamp = Number(view.getBigUint64(0));
      const message = cosignedMessage(note.body, timestamp);
      if (await verifyEd25519(key.publicKey, line.signature.slice(8), message))
        return { name: key.name, timestamp };
    }
  }
  return undefined;
}

/** `— <name> <base64(key id ‖ signature)>\n` */
export function noteSignatureLine(name: string, keyId: Uint8Array, signature: Uint8Array): string {
  return `\u2014 ${name} ${toBase64(concatBytes(keyId, signature))}\n`;
}

/** A verifier key as signed-note.md writes it: `<name>+<hex key id>+<base64(type ‖ public key)>`. */
export async function formatVerifierKey(key: NoteVerifierKey): Promise<string> {
  return `${key.name}+${toHex(await noteKeyId(key))}+${toBase64(concatBytes(Uint8Array.of(key.type), key.publicKey))}`;
}

export async function parseVerifierKey(text: string): Promise<NoteVerifierKey> {
  // The base64 part may itself hold `+`: split on the first two only.
  const match = /^([^\s+]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/]+=*)$/.exec(text.trim());
  const [, name, keyIdHex, encoded] = match ?? [];
  if (name === undefined || keyIdHex === undefined || encoded === undefined) {
    throw new Error('A verifier key is <name>+<key id>+<base64 key>');
  }
  const bytes = fromBase64(encoded);
  const type = bytes[0];
  if ((type !== ED25519_NOTE_SIGNATURE && type !== ED25519_COSIGNATURE) || bytes.length !== 33) {
    throw new Error(`Verifier key ${name} is not an Ed25519 note or cosignature key`);
  }
  const key: NoteVerifierKey = { name, publicKey: bytes.slice(1), type };
  if (toHex(await noteKeyId(key)) !== keyIdHex.toLowerCase())
    throw new Error(`Verifier key ${name}: key id does not match`);
  return key;
}
