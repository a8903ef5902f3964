/**
 * The encrypted, content-addressed blob store (DESIGN.md D13). A blob is addressed by the SHA-256
 * of its plaintext, so storing the same bytes twice stores them once. Its bytes are encrypted
 * with AES-256-GCM under a data key of its own, with the hash as additional data (an object
 * cannot be passed off as another blob's); the data key is stored only wrapped by a master key
 * (key-provider.ts), in the `blob` table beside the nonce, size and content type (migration 0011).
 *
 * Where the ciphertext lives depends on its size only: under `objectMinBytes` in the row itself
 * (`ciphertext`, migration 0015) — a clinical note costs no file write and no fsync, and is atomic
 * with the version that refers to it — at or over it in an object of `BlobObjects`.
 *
 * The object's name is the hash and the nonce: two writers racing to store the same new bytes
 * each write their own object, the first row inserted wins, and the loser deletes its object — a
 * row never points at bytes encrypted under another key. An object whose row was never written
 * (a crash between the two) is garbage that no read can reach; `concordia blobs verify` lists it
 * (verify-blobs.ts).
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
  /** Base64 of the ciphertext when it goes in the row (a small blob); absent: it is in an object. */
  ciphertext?: string;
}

/** Blobs under this size keep their ciphertext in their row (`CONCORDIA_ATTACHMENT_OBJECT_MIN_BYTES`). */
export const DEFAULT_OBJECT_MIN_BYTES = 65_536;

export interface BlobStore {
  /** Stores the bytes (once per content) and returns their address. */
  put(bytes: Uint8Array, contentType?: string): Promise<BlobInfo>;
  /**
   * Encrypts the bytes without touching the database, for a writer that inserts the row in its own
   * transaction (`blobRowInsert`). A large blob's object is written now (and is unreachable until
   * the row is); a small one's ciphertext travels in the row.
   */
  seal(bytes: Uint8Array, contentType?: string): Promise<SealedBlob>;
  /** The plaintext, `undefined` when no blob has this hash. @throws when the stored bytes were altered. */
  get(hash: string): Promise<{ info: BlobInfo; bytes: Buffer } | undefined>;
  /**
   * The plaintexts of many blobs with one query (a page of search results): hashes without a
   * blob are absent from the answer. @throws when stored bytes were altered.
   */
  getMany(hashes: readonly string[]): Promise<Map<string, Buffer>>;
  info(hash: string): Promise<BlobInfo | undefined>;
}

export function createBlobStore(deps: {
  database: Database;
  objects: BlobObjects;
  keys: KeyProvider;
  /** Default `DEFAULT_OBJECT_MIN_BYTES`; 0 puts every blob in an object. */
  objectMinBytes?: number;
}): BlobStore {
  const { database, objects, keys } = deps;
  const objectMinBytes = deps.objectMinBytes ?? DEFAULT_OBJECT_MIN_BYTES;
  const info = async (hash: string): Promise<BlobRow | undefined> => {
    const [row] = await database.query(sql`select ${BLOB_COLUMNS} from blob where hash = ${hash}`);
    return row === undefined ? undefined : blobRow(row);
  };
  const seal = async (bytes: Uint8Array, contentType?: string): Promise<SealedBlob> => {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const dataKey = newKey();
    const { nonce, sealed } = encrypt(dataKey, bytes, blobContext(hash));
    const inRow = bytes.length < objectMinBytes;
    if (!inRow) await objects.put(blobObjectName(hash, nonce.toString('hex')), sealed);
    const wrapped = await keys.wrap(dataKey);
    return {
      hash,
      size: bytes.length,
      ...(contentType !== undefined ? { contentType } : {}),
      keyId: wrapped.keyId,
      wrappedKey: Buffer.from(wrapped.wrapped).toString('base64'),
      nonce: nonce.toString('hex'),
      ...(inRow ? { ciphertext: sealed.toString('base64') } : {}),
    };
  };
  const open = (row: BlobRow): Promise<Buffer> => openBlob(row, objects, keys);
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
      if (inserted.length === 0 && sealed.ciphertext === undefined) {
        await objects.delete(blobObjectName(hash, sealed.nonce));
      }
      return publicInfo(sealed);
    },
    async get(hash) {
      const row = await info(hash);
      return row === undefined ? undefined : { info: publicInfo(row), bytes: await open(row) };
    },
    async getMany(hashes) {
      const found = new Map<string, Buffer>();
      const wanted = [...new Set(hashes)];
      if (wanted.length === 0) return found;
      const rows = await database.query(
        sql`select ${BLOB_COLUMNS} from blob where hash = any(${wanted}::text[])`,
      );
      for (const row of rows.map(blobRow)) found.set(row.hash, await open(row));
      return found;
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
  return sql`insert into blob (hash, size, content_type, key_id, wrapped_key, nonce, ciphertext)
    ${open}${sealed.hash}, ${sealed.size}, ${sealed.contentType ?? null}, ${sealed.keyId}, ${sealed.wrappedKey},
      ${sealed.nonce}, decode(${sealed.ciphertext ?? null}, 'base64')${close}
    on conflict (hash) do nothing`;
}

/**
 * One statement inserting the rows of many sealed blobs (a transaction Bundle's notes), when the
 * version CTE `written` of the same statement wrote anything; the first row for a hash wins.
 */
export function blobRowsInsert(sealed: readonly SealedBlob[]): Sql {
  const column = <T>(pick: (blob: SealedBlob) => T): T[] => sealed.map(pick);
  return sql`insert into blob (hash, size, content_type, key_id, wrapped_key, nonce, ciphertext)
    select u.hash, u.size, u.content_type, u.key_id, u.wrapped_key, u.nonce, decode(u.ciphertext, 'base64')
    from unnest(${column((blob) => blob.hash)}::text[], ${column((blob) => blob.size)}::bigint[],
      ${column((blob) => blob.contentType ?? null)}::text[], ${column((blob) => blob.keyId)}::text[],
      ${column((blob) => blob.wrappedKey)}::text[], ${column((blob) => blob.nonce)}::text[],
      ${column((blob) => blob.ciphertext ?? null)}::text[])
      as u(hash, size, content_type, key_id, wrapped_key, nonce, ciphertext)
    where exists (select from written)
    on conflict (hash) do nothing`;
}

/**
 * The row with its ciphertext as base64 text: both drivers return text alike (bytea they would
 * not), and base64 is two thirds the size of hex. PostgreSQL breaks it into lines; Node skips them.
 */
export const BLOB_COLUMNS = sql`hash, size, content_type, key_id, wrapped_key, nonce, encode(ciphertext, 'base64') as ciphertext`;

/** The name of a blob's object in `BlobObjects`: its hash and its nonce (see the header). */
export function blobObjectName(hash: string, nonceHex: string): string {
  return `${hash}.${nonceHex}`;
}

function blobContext(hash: string): string {
  return `concordia-blob:v1:${hash}`;
}

/** A `blob` row as stored (`BLOB_COLUMNS`): where its ciphertext is and how to decrypt it. */
export interface BlobRow extends BlobInfo {
  keyId: string;
  wrappedKey: string;
  nonce: string;
  ciphertext?: string;
}

export function blobRow(row: Record<string, unknown>): BlobRow {
  const contentType = readOptionalString(row, 'content_type');
  const ciphertext = readOptionalString(row, 'ciphertext');
  return {
    ...(ciphertext !== undefined ? { ciphertext } : {}),
    hash: readString(row, 'hash'),
    size: readNumber(row, 'size'),
    ...(contentType !== undefined ? { contentType } : {}),
    keyId: readString(row, 'key_id'),
    wrappedKey: readString(row, 'wrapped_key'),
    nonce: readString(row, 'nonce'),
  };
}

/** Why a stored blob cannot be read back, one kind per step of `openBlob`. */
export type BlobReadFailure =
  | 'object-missing'
  | 'object-unreadable'
  | 'master-key-missing'
  | 'data-key-unwrap-failed'
  | 'authentication-failed'
  | 'hash-mismatch';

export class BlobReadError extends Error {
  constructor(
    readonly hash: string,
    readonly failure: BlobReadFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BlobReadError';
  }
}

/**
 * The plaintext of a stored blob: its ciphertext (row or object), its data key unwrapped, AES-GCM
 * decryption with the hash as additional data, the hash checked. The one read path, shared by the
 * store and `concordia blobs verify` (verify-blobs.ts), which reports the `BlobReadError` kinds.
 * @throws BlobReadError naming the step that failed.
 */
export async function openBlob(row: BlobRow, objects: BlobObjects, keys: KeyProvider): Promise<Buffer> {
  const failed = (failure: BlobReadFailure, message: string, cause?: unknown): BlobReadError =>
    new BlobReadError(row.hash, failure, message, cause === undefined ? undefined : { cause });
  let sealed: Buffer | undefined;
  if (row.ciphertext !== undefined) {
    sealed = Buffer.from(row.ciphertext, 'base64');
  } else {
    const name = blobObjectName(row.hash, row.nonce);
    try {
      sealed = await objects.get(name);
    } catch (error) {
      throw failed(
        'object-unreadable',
        `the encrypted object ${name} of blob ${row.hash} cannot be read: ${messageOf(error)}`,
        error,
      );
    }
    if (sealed === undefined)
      throw failed('object-missing', `the encrypted object ${name} of blob ${row.hash} is missing`);
  }
  let dataKey: Uint8Array;
  try {
    dataKey = await keys.unwrap({ keyId: row.keyId, wrapped: Buffer.from(row.wrappedKey, 'base64') });
  } catch (error) {
    throw keys.has(row.keyId)
      ? failed(
          'data-key-unwrap-failed',
          `the data key of blob ${row.hash} does not unwrap with master key ${row.keyId} (wrapped key altered?): ${messageOf(error)}`,
          error,
        )
      : failed('master-key-missing', `master key ${row.keyId} of blob ${row.hash} is not configured`, error);
  }
  let bytes: Buffer;
  try {
    bytes = decrypt(dataKey, Buffer.from(row.nonce, 'hex'), sealed, blobContext(row.hash));
  } catch (error) {
    throw failed(
      'authentication-failed',
      `blob ${row.hash} fails AES-GCM authentication (its ciphertext, nonce or hash was altered): ${messageOf(error)}`,
      error,
    );
  }
  if (createHash('sha256').update(bytes).digest('hex') !== row.hash)
    throw failed('hash-mismatch', `blob ${row.hash} does not match its hash`);
  return bytes;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function publicInfo(row: BlobInfo): BlobInfo {
  return {
    hash: row.hash,
    size: row.size,
    ...(row.contentType !== undefined ? { contentType: row.contentType } : {}),
  };
}
