/**
 * The encrypted, content-addressed blob store (DESIGN.md D13). A blob is addressed by the SHA-256
 * of its plaintext, so storing the same bytes twice stores them once. Its bytes are encrypted
 * with AES-256-GCM under a data key of its own, with the hash as additional data (an object
 * cannot be passed off as another blob's); the data key is stored only wrapped by a master key
 * (key-provider.ts), in the `blob` table beside the nonce, size and content type (migration 0012).
 *
 * The object's name is the hash and the nonce: two writers racing to store the same new bytes
 * each write their own object, the first row inserted wins, and the loser deletes its object — a
 * row never points at bytes encrypted under another key. An object whose row was never written
 * (a crash between the two) is garbage that no read can reach.
 *
 * Trade-off: content addressing reveals which stored blobs are equal, and someone holding a
 * candidate file can tell whether it is stored (the hash is the row's key). Use it for clinical
 * attachments and images, where deduplication pays; do not rely on it to hide whether a known
 * document exists.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../store/database.ts';
import { readNumber, readOptionalString, readString } from '../store/rows.ts';
import { type Sql, sql } from '../store/sql.ts';
import { decrypt, encrypt, newKey } from './aes-gcm.ts';
import type { BlobObjects } from './blob-objects.ts';
import type { KeyProvider } from './key-provider.ts';

export interface BlobInfo {
  /** Lower-case hex SHA-256 of the plaintext. */
  hash: string;
  size: number;
  contentType?: string;
}

/** A blob whose encrypted object is written and whose row is yet to be inserted (`blobRowInsert`). */
export interface SealedBlob extends BlobInfo {
  keyId: string;
  /** Base64 of the wrapped data key. */
  wrappedKey: string;
  /** Hex of the AES-GCM nonce. */
  nonce: string;
}

export interface BlobStore {
  /** Stores the bytes (once per content) and returns their address. */
  put(bytes: Uint8Array, contentType?: string): Promise<BlobInfo>;
  /**
   * Encrypts the bytes and writes their object without touching the database, for a writer that
   * inserts the row in its own transaction (`blobRowInsert`); until then the object is unreachable.
   */
  seal(bytes: Uint8Array, contentType?: string): Promise<SealedBlob>;
  /** The plaintext, `undefined` when no blob has this hash. @throws when the stored bytes were altered. */
  get(hash: string): Promise<{ info: BlobInfo; bytes: Buffer } | undefined>;
  info(hash: string): Promise<BlobInfo | undefined>;
}

export function createBlobStore(deps: {
  database: Database;
  objects: BlobObjects;
  keys: KeyProvider;
}): BlobStore {
  const { database, objects, keys } = deps;
  const info = async (hash: string): Promise<BlobRow | undefined> => {
    const [row] = await database.query(sql`select * from blob where hash = ${hash}`);
    return row === undefined ? undefined : blobRow(row);
  };
  const seal = async (bytes: Uint8Array, contentType?: string): Promise<SealedBlob> => {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const dataKey = newKey();
    const { nonce, sealed } = encrypt(dataKey, bytes, blobContext(hash));
    await objects.put(objectName(hash, nonce.toString('hex')), sealed);
    const wrapped = await keys.wrap(dataKey);
    return {
      hash,
      size: bytes.length,
      ...(contentType !== undefined ? { contentType } : {}),
      keyId: wrapped.keyId,
      wrappedKey: Buffer.from(wrapped.wrapped).toString('base64'),
      nonce: nonce.toString('hex'),
    };
  };
  return {
    seal,
    async put(bytes, contentType) {
      const hash = createHash('sha256').update(bytes).digest('hex');
      const existing = await info(hash);
      if (existing !== undefined) return publicInfo(existing);
      const sealed = await seal(bytes, contentType);
      const inserted = await database.query(
        sql`${blobRowInsert(sealed, sql`values (`, sql`)`)} returning hash`,
      );
      if (inserted.length === 0) await objects.delete(objectName(hash, sealed.nonce));
      return publicInfo(sealed);
    },
    async get(hash) {
      const row = await info(hash);
      if (row === undefined) return undefined;
      const sealed = await objects.get(objectName(hash, row.nonce));
      if (sealed === undefined) throw new Error(`the encrypted object of blob ${hash} is missing`);
      const dataKey = await keys.unwrap({ keyId: row.keyId, wrapped: Buffer.from(row.wrappedKey, 'base64') });
      const bytes = decrypt(dataKey, Buffer.from(row.nonce, 'hex'), sealed, blobContext(hash));
      if (createHash('sha256').update(bytes).digest('hex') !== hash)
        throw new Error(`blob ${hash} does not match its hash`);
      return { info: publicInfo(row), bytes };
    },
    async info(hash) {
      const row = await info(hash);
      return row === undefined ? undefined : publicInfo(row);
    },
  };
}

/**
 * The statement that inserts the row of a sealed blob; the first row for a hash wins. The values
 * go between `open` and `close`: `values (…)`, or `select … from written` in a store recorder.
 */
export function blobRowInsert(sealed: SealedBlob, open: Sql, close: Sql): Sql {
  return sql`insert into blob (hash, size, content_type, key_id, wrapped_key, nonce)
    ${open}${sealed.hash}, ${sealed.size}, ${sealed.contentType ?? null}, ${sealed.keyId}, ${sealed.wrappedKey},
      ${sealed.nonce}${close}
    on conflict (hash) do nothing`;
}

function objectName(hash: string, nonceHex: string): string {
  return `${hash}.${nonceHex}`;
}

function blobContext(hash: string): string {
  return `concordia-blob:v1:${hash}`;
}

interface BlobRow extends BlobInfo {
  keyId: string;
  wrappedKey: string;
  nonce: string;
}

function blobRow(row: Record<string, unknown>): BlobRow {
  const contentType = readOptionalString(row, 'content_type');
  return {
    hash: readString(row, 'hash'),
    size: readNumber(row, 'size'),
    ...(contentType !== undefined ? { contentType } : {}),
    keyId: readString(row, 'key_id'),
    wrappedKey: readString(row, 'wrapped_key'),
    nonce: readString(row, 'nonce'),
  };
}

function publicInfo(row: BlobInfo): BlobInfo {
  return {
    hash: row.hash,
    size: row.size,
    ...(row.contentType !== undefined ? { contentType: row.contentType } : {}),
  };
}
