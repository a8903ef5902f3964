/**
 * The node's Ed25519 checkpoint key (C2SP signed-note, signature type 0x01). Created on first
 * start and kept in `ledger_key` with its private half sealed by the identity key (the same
 * `SecretBox` that seals token signing keys), so every node of one database signs as one log and
 * a stolen dump does not yield the key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { ED25519_NOTE_SIGNATURE, type NoteVerifierKey, noteKeyId, noteSignatureLine } from '@concordia/fhir';
import type { SecretBox } from '../identity/secret-box.ts';
import type { Database } from '../store/database.ts';
import { readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';

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

/** The node's key, created when there is none yet; `name` is the log origin. */
export async function ensureLedgerSigner(db: Database, box: SecretBox, name: string): Promise<LedgerSigner> {
  const existing = await readSealedKey(db);
  if (existing !== undefined) return ed25519Signer(name, openKey(box, existing), ED25519_NOTE_SIGNATURE);
  const { privateKey } = generateKeyPairSync('ed25519');
  const sealed = box.seal(privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'));
  // Nodes starting together on an empty database: the first insert wins, the others read it.
  await db.query(
    sql`insert into ledger_key (id, public_key, sealed_private_key)
        values (1, decode(${Buffer.from(rawEd25519PublicKey(privateKey)).toString('hex')}, 'hex'), ${sealed})
        on conflict (id) do nothing`,
  );
  const stored = await readSealedKey(db);
  if (stored === undefined) throw new Error('The ledger key was not stored');
  return ed25519Signer(name, openKey(box, stored), ED25519_NOTE_SIGNATURE);
}

async function readSealedKey(db: Database): Promise<string | undefined> {
  const [row] = await db.query(sql`select sealed_private_key from ledger_key where id = 1`);
  return row === undefined ? undefined : readString(row, 'sealed_private_key');
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
