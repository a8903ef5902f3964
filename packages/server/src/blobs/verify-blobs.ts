/**
 * `concordia blobs verify`: reads back every blob the `blob` table names, through the store's own
 * read path (`openBlob`: ciphertext from the row or the object, data key unwrapped by the master
 * key ring, AES-256-GCM with the hash as additional data, hash checked), checks the size too, and
 * reports each blob that fails by hash and by the step that failed. Rows are walked in hash order
 * a batch at a time, so memory is bounded by a batch (and the problems found), not the store.
 *
 * Then, as information, objects no row refers to: garbage left by a write that failed or crashed
 * between writing its object and committing its row, or by the loser of two writers racing to
 * store the same bytes (blob-store.ts). A write in progress has such an object for a moment, so
 * objects younger than `orphanMinAgeMs` are left alone. An object whose hash or nonce is that of a
 * row whose object is missing is not garbage: it is the row's ciphertext under a name the row no
 * longer gives (its hash or nonce column altered), reported with that row and never deleted.
 *
 * Blobs no resource version refers to are found only on request (`unreferenced`): nothing indexes
 * the references, so it reads every stored version that mentions a blob extension and keeps the
 * hashes they name in memory.
 */
import { ATTACHMENT_BLOB_EXTENSION, BINARY_BLOB_EXTENSION, isRecord } from '@concordia/fhir';
import type { VerifyProgress } from '../ledger/ledger-verify.ts';
import type { Database } from '../store/database.ts';
import { readBoolean, readNumber, readOptionalString, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { BlobObjects, StoredObject } from './blob-objects.ts';
import {
  BLOB_COLUMNS,
  BlobReadError,
  type BlobReadFailure,
  type BlobRow,
  blobObjectName,
  blobRow,
  openBlob,
} from './blob-store.ts';
import type { KeyProvider } from './key-provider.ts';
import { blobHashesIn } from './sealed-content.ts';

export type BlobProblemKind = BlobReadFailure | 'size-mismatch';

export interface BlobProblem {
  kind: BlobProblemKind;
  hash: string;
  /** The master key id of the row (the missing one for `master-key-missing`). */
  keyId: string;
  /** The object the row names; absent when the ciphertext is in the row. */
  object?: string;
  detail: string;
  /** An object that holds this blob's ciphertext under another name (hash or nonce column altered). */
  strayObject?: string;
}

export interface OrphanObject {
  name: string;
  modifiedAt: string;
  deleted: boolean;
}

export interface BlobVerifyReport {
  blobsChecked: number;
  /** Blobs whose ciphertext is in their row, and in an object. */
  inRow: number;
  inObjects: number;
  bytesChecked: number;
  problems: BlobProblem[];
  objectsListed: number;
  /** Objects no row refers to, older than the minimum age: safe to delete. */
  orphans: OrphanObject[];
  /** Objects without a row younger than the minimum age: possibly writes in progress, not judged. */
  recentObjectsSkipped: number;
  /** Hashes of blobs no stored version refers to; absent when not looked for. */
  unreferenced?: string[];
}

export interface VerifyBlobsOptions {
  objects: BlobObjects;
  keys: KeyProvider;
  progress?: VerifyProgress;
  /** Rows read at a time (each up to `objectMinBytes` of ciphertext); default 200. */
  batchSize?: number;
  deleteOrphans?: boolean;
  /** Objects without a row younger than this are not reported (a write may be committing); default one hour. */
  orphanMinAgeMs?: number;
  unreferenced?: boolean;
  now?: () => Date;
}

export const DEFAULT_ORPHAN_MIN_AGE_MS = 60 * 60 * 1000;

export async function verifyBlobs(
  database: Database,
  options: VerifyBlobsOptions,
): Promise<BlobVerifyReport> {
  const batchSize = options.batchSize ?? 200;
  const [counted] = await database.query(sql`select count(*)::int as count from blob`);
  options.progress?.started(counted === undefined ? 0 : readNumber(counted, 'count'));
  const report: BlobVerifyReport = {
    blobsChecked: 0,
    inRow: 0,
    inObjects: 0,
    bytesChecked: 0,
    problems: [],
    objectsListed: 0,
    orphans: [],
    recentObjectsSkipped: 0,
  };
  let after = '';
  for (;;) {
    const rows = await database.query(
      sql`select ${BLOB_COLUMNS} from blob where hash > ${after} order by hash limit ${batchSize}`,
    );
    if (rows.length === 0) break;
    for (const row of rows.map(blobRow)) {
      after = row.hash;
      await checkBlob(row, options, report);
    }
    options.progress?.advanced(report.blobsChecked);
  }
  options.progress?.finished();
  await findOrphanObjects(database, options, report, batchSize);
  if (options.unreferenced === true) report.unreferenced = await unreferencedBlobs(database, batchSize);
  return report;
}

async function checkBlob(row: BlobRow, options: VerifyBlobsOptions, report: BlobVerifyReport): Promise<void> {
  report.blobsChecked += 1;
  if (row.ciphertext === undefined) report.inObjects += 1;
  else report.inRow += 1;
  const problem = (kind: BlobProblemKind, detail: string): BlobProblem => ({
    kind,
    hash: row.hash,
    keyId: row.keyId,
    ...(row.ciphertext === undefined ? { object: blobObjectName(row.hash, row.nonce) } : {}),
    detail,
  });
  try {
    const bytes = await openBlob(row, options.objects, options.keys);
    report.bytesChecked += bytes.length;
    if (bytes.length !== row.size)
      report.problems.push(
        problem('size-mismatch', `the row says ${row.size} bytes, the decrypted content has ${bytes.length}`),
      );
  } catch (error) {
    if (!(error instanceof BlobReadError)) throw error;
    report.problems.push(problem(error.failure, error.message));
  }
}

async function findOrphanObjects(
  database: Database,
  options: VerifyBlobsOptions,
  report: BlobVerifyReport,
  batchSize: number,
): Promise<void> {
  const now = (options.now ?? (() => new Date()))().getTime();
  const minAge = options.orphanMinAgeMs ?? DEFAULT_ORPHAN_MIN_AGE_MS;
  // Rows whose object is missing may have it under another name: found by its hash or its nonce.
  const missing = report.problems.filter((problem) => problem.kind === 'object-missing');
  const missingByHash = new Map(missing.map((problem) => [problem.hash, problem]));
  const missingByNonce = new Map(
    missing
      .map((problem) => [nonceOf(problem.object ?? ''), problem] as const)
      .filter(([nonce]) => nonce !== ''),
  );
  let batch: StoredObject[] = [];
  const judge = async (): Promise<void> => {
    const rows = await database.query(sql`select hash, nonce, ciphertext is null as in_object from blob
      where hash = any(${[...new Set(batch.map((object) => hashOf(object.name)))]}::text[])`);
    const named = new Set(
      rows
        .filter((row) => readBoolean(row, 'in_object'))
        .map((row) => blobObjectName(readString(row, 'hash'), readString(row, 'nonce'))),
    );
    for (const object of batch) {
      if (named.has(object.name)) continue;
      const claimant = missingByHash.get(hashOf(object.name)) ?? missingByNonce.get(nonceOf(object.name));
      if (claimant !== undefined) {
        claimant.strayObject = object.name;
        continue;
      }
      if (options.deleteOrphans === true) await options.objects.delete(object.name);
      report.orphans.push({
        name: object.name,
        modifiedAt: object.modifiedAt.toISOString(),
        deleted: options.deleteOrphans === true,
      });
    }
    batch = [];
  };
  for await (const object of options.objects.list()) {
    report.objectsListed += 1;
    if (now - object.modifiedAt.getTime() < minAge) {
      // Judged only if a row names it (then it is no orphan); otherwise it may be a write committing.
      const [row] = await database.query(
        sql`select 1 from blob where hash = ${hashOf(object.name)} and nonce = ${nonceOf(object.name)}`,
      );
      if (row === undefined) report.recentObjectsSkipped += 1;
      continue;
    }
    batch.push(object);
    if (batch.length >= batchSize) await judge();
  }
  if (batch.length > 0) await judge();
}

/** Blob hashes no version in `resource_history` refers to, in hash order. */
async function unreferencedBlobs(database: Database, batchSize: number): Promise<string[]> {
  const referred = new Set<string>();
  let afterSeq = 0;
  for (;;) {
    const rows = await database.query(sql`select seq, content from resource_history
      where seq > ${afterSeq} and content is not null
        and (position(${ATTACHMENT_BLOB_EXTENSION} in content) > 0 or position(${BINARY_BLOB_EXTENSION} in content) > 0)
      order by seq limit ${batchSize}`);
    if (rows.length === 0) break;
    for (const row of rows) {
      afterSeq = readNumber(row, 'seq');
      const resource: unknown = JSON.parse(readOptionalString(row, 'content') ?? 'null');
      if (isRecord(resource)) for (const hash of blobHashesIn(resource)) referred.add(hash);
    }
  }
  const unreferenced: string[] = [];
  let after = '';
  for (;;) {
    const rows = await database.query(
      sql`select hash from blob where hash > ${after} order by hash limit ${batchSize * 10}`,
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      after = readString(row, 'hash');
      if (!referred.has(after)) unreferenced.push(after);
    }
  }
  return unreferenced;
}

/** An object is named `<hash>.<nonce>` (blob-store.ts `blobObjectName`). */
function hashOf(name: string): string {
  return name.split('.')[0] ?? name;
}

function nonceOf(name: string): string {
  return name.split('.')[1] ?? '';
}
