/**
 * The node's Ed25519 checkpoint key (C2SP signed-note, signature type 0x01). Created on first
 * start and kept in `ledger_key` with its private half sealed by the identity key (the same
 * `SecretBox` that seals token signing keys), so every node of one database signs as one log and
 * a stolen dump does not yield the key. Keys are numbered: a rotation (key-rotation.ts) adds the
 * next number, and the highest number is the key the log signs with.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { ED25519_NOTE_SIGNATURE, type NoteVerifierKey, noteKeyId, noteSignatureLine } from '@concordia/fhir';
import type { SecretBox } from '../identity/secret-box.ts';
import type { SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { emptySql, sql } from '../store/sql.ts';

export interface LedgerSigner {
  /** The verifier key clients and witnesses configure (`<name>+<key id>+<base64 key>`). */
  verifierKey: NoteVerifierKey;
  /** The note signature line of `body` (ending in a newline). */
  signatureLine(body: string): Promise<string>;
}

/** The raw 32 bytes of an Ed25519 public key (the end of its SPKI DER). */
export function rawEd25519PublicKey(key: KeyObject): Uint8Array {
  return new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32));
}

export function ed25519Signer(
  name: string,
  privateKey: KeyObject,
  type: NoteVerifierKey['type'],
): LedgerSigner {
  const verifierKey: NoteVerifierKey = { name, publicKey: rawEd25519PublicKey(privateKey), type };
  return {
    verifierKey,
    async signatureLine(body: string): Promise<string> {
      const signature = sign(null, Buffer.from(body, 'utf8'), privateKey);
      return noteSignatureLine(name, await noteKeyId(verifierKey), signature);
    },
  };
}

/** The signer of one of the node's keys: `keyNumber` is its `ledger_key.id`. */
export interface NodeKeySigner extends LedgerSigner {
  keyNumber: number;
}

/** The node's current key, created when there is none yet; `name` is the log origin. */
export async function ensureLedgerSigner(
  db: SqlExecutor,
  box: SecretBox,
  name: string,
): Promise<NodeKeySigner> {
  const existing = await readCurrentKey(db);
  if (existing !== undefined) return openNodeKey(box, name, existing);
  const privateKey = generateNodeKey();
  // Nodes starting together on an empty database: the first insert wins, the others read it.
  await storeNodeKey(db, box, 1, privateKey, { firstKey: true });
  const stored = await readCurrentKey(db);
  if (stored === undefined) throw new Error('The ledger key was not stored');
  return openNodeKey(box, name, stored);
}

/** The number of the key the log signs with now (`undefined` before the first start). */
export async function currentLedgerKeyNumber(db: SqlExecutor): Promise<number | undefined> {
  const [row] = await db.query(sql`select max(id) as id from ledger_key`);
  return row === undefined || row.id === null ? undefined : readNumber(row, 'id');
}

/** Every key the log has signed with, by number: what `ledger verify` checks old checkpoints with. */
export async function ledgerPublicKeys(db: SqlExecutor): Promise<Map<number, Uint8Array>> {
  const rows = await db.query(
    sql`select id, encode(public_key, 'hex') as public_key from ledger_key order by id`,
  );
  return new Map(
    rows.map((row) => [
      readNumber(row, 'id'),
      new Uint8Array(Buffer.from(readString(row, 'public_key'), 'hex')),
    ]),
  );
}

export function generateNodeKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

export async function storeNodeKey(
  db: SqlExecutor,
  box: SecretBox,
  keyNumber: number,
  privateKey: KeyObject,
  options: { firstKey?: boolean } = {},
): Promise<void> {
  const sealed = box.seal(privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'));
  await db.query(
    sql`insert into ledger_key (id, public_key, sealed_private_key)
        values (${keyNumber}, decode(${Buffer.from(rawEd25519PublicKey(privateKey)).toString('hex')}, 'hex'), ${sealed})
        ${options.firstKey === true ? sql`on conflict (id) do nothing` : emptySql}`,
  );
}

export function nodeKeySigner(name: string, keyNumber: number, privateKey: KeyObject): NodeKeySigner {
  return { ...ed25519Signer(name, privateKey, ED25519_NOTE_SIGNATURE), keyNumber };
}

interface SealedKey {
  keyNumber: number;
  sealed: string;
}

async function readCurrentKey(db: SqlExecutor): Promise<SealedKey | undefined> {
  const [row] = await db.query(sql`select id, sealed_private_key from ledger_key order by id desc limit 1`);
  return row === undefined
    ? undefined
    : { keyNumber: readNumber(row, 'id'), sealed: readString(row, 'sealed_private_key') };
}

function openNodeKey(box: SecretBox, name: string, key: SealedKey): NodeKeySigner {
  return nodeKeySigner(name, key.keyNumber, openKey(box, key.sealed));
}

function openKey(box: SecretBox, sealed: string): KeyObject {
  let der: string;
  try {
    der = box.open(sealed);
  } catch (error) {
    throw new Error(
      'The ledger key in the database was sealed under another identity key: start with the ' +
        'CONCORDIA_IDENTITY_KEY (or <data dir>/identity.key) it was created with.',
      { cause: error },
    );
  }
  return createPrivateKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'pkcs8' });
}
