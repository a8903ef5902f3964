/**
 * `concordia blobs verify` (verify-blobs.ts) finds damage done behind the application's back — in
 * SQL on the `blob` row, on disk to an object, in the key configuration — and names each damaged
 * blob by its hash and by the step of the read path that failed. Each case alters one thing.
 * Runs on PGlite and PostgreSQL, with a real object directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encrypt } from '../../src/blobs/aes-gcm.ts';
import { type BlobObjects, filesystemBlobObjects } from '../../src/blobs/blob-objects.ts';
import {
  type BlobInfo,
  type BlobStore,
  blobObjectName,
  createBlobStore,
} from '../../src/blobs/blob-store.ts';
import type { KeyProvider } from '../../src/blobs/key-provider.ts';
import { masterKeyRing } from '../../src/blobs/master-key-ring.ts';
import { type BlobVerifyReport, type VerifyBlobsOptions, verifyBlobs } from '../../src/blobs/verify-blobs.ts';
import type { Database } from '../../src/store/database.ts';
import { readString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';

/** Blobs under this size keep their ciphertext in the row; the others are objects. */
const OBJECT_MIN_BYTES = 1024;

interface Stored {
  small: BlobInfo;
  otherSmall: BlobInfo;
  large: BlobInfo;
  otherLarge: BlobInfo;
}

for (const testDatabase of testDatabases()) {
  describe(`blobs verify (${testDatabase.name})`, () => {
    let database: Database;
    let dir: string;
    let objects: BlobObjects;
    let keys: KeyProvider;
    let blobs: BlobStore;
    let stored: Stored;

    beforeEach(async () => {
      database = await testDatabase.create();
      dir = await mkdtemp(join(tmpdir(), 'concordia-blobs-verify-'));
      objects = filesystemBlobObjects(join(dir, 'blobs'));
      keys = masterKeyRing(randomBytes(32));
      blobs = createBlobStore({ database, objects, keys, objectMinBytes: OBJECT_MIN_BYTES });
      stored = {
        small: await blobs.put(Buffer.from('Progress note: chest pain resolved.'), 'text/plain'),
        otherSmall: await blobs.put(randomBytes(300)),
        large: await blobs.put(randomBytes(4096), 'application/pdf'),
        otherLarge: await blobs.put(randomBytes(5000)),
      };
    });

    afterEach(async () => {
      await database.close();
      await rm(dir, { recursive: true, force: true });
    });

    const verify = (options: Partial<VerifyBlobsOptions> = {}): Promise<BlobVerifyReport> =>
      verifyBlobs(database, { objects, keys, orphanMinAgeMs: 0, ...options });
    const problems = (report: BlobVerifyReport): string[] =>
      report.problems.map((problem) => `${problem.kind} ${problem.hash}`).sort();
    const rowOf = async (hash: string): Promise<{ nonce: string; wrappedKey: string; keyId: string }> => {
      const [row] = await database.query(
        sql`select nonce, wrapped_key, key_id from blob where hash = ${hash}`,
      );
      if (row === undefined) throw new Error(`no blob ${hash}`);
      return {
        nonce: readString(row, 'nonce'),
        wrappedKey: readString(row, 'wrapped_key'),
        keyId: readString(row, 'key_id'),
      };
    };
    const objectPath = async (hash: string): Promise<string> => {
      const name = blobObjectName(hash, (await rowOf(hash)).nonce);
      return join(dir, 'blobs', name.slice(0, 2), name.slice(2, 4), name);
    };
    const otherNonce = (nonce: string): string => `${nonce[0] === '0' ? '1' : '0'}${nonce.slice(1)}`;

    it('verifies a clean store, walking it in batches, and reports its progress', async () => {
      const seen: string[] = [];
      const report = await verify({
        batchSize: 1,
        progress: {
          started: (total) => seen.push(`started ${total}`),
          advanced: (done) => seen.push(`advanced ${done}`),
          finished: () => seen.push('finished'),
        },
      });
      expect(report).toMatchObject({
        blobsChecked: 4,
        inRow: 2,
        inObjects: 2,
        bytesChecked: stored.small.size + 300 + 4096 + 5000,
        problems: [],
        objectsListed: 2,
        orphans: [],
        recentObjectsSkipped: 0,
      });
      expect(report.unreferenced).toBeUndefined();
      expect(seen).toEqual(['started 4', 'advanced 1', 'advanced 2', 'advanced 3', 'advanced 4', 'finished']);
    });

    it("reports authentication-failed when a row's ciphertext is altered in SQL (SP 800-38D tag check)", async () => {
      await database.query(
        sql`update blob set ciphertext = set_byte(ciphertext, 5, get_byte(ciphertext, 5) # 1) where hash = ${stored.small.hash}`,
      );
      expect(problems(await verify())).toEqual([`authentication-failed ${stored.small.hash}`]);
    });

    it('reports authentication-failed when the nonce of a blob kept in its row is altered', async () => {
      const { nonce } = await rowOf(stored.otherSmall.hash);
      await database.query(
        sql`update blob set nonce = ${otherNonce(nonce)} where hash = ${stored.otherSmall.hash}`,
      );
      expect(problems(await verify())).toEqual([`authentication-failed ${stored.otherSmall.hash}`]);
    });

    it("reports object-missing when an object blob's nonce is altered, names the real object, and never deletes it", async () => {
      const { nonce } = await rowOf(stored.large.hash);
      await database.query(
        sql`update blob set nonce = ${otherNonce(nonce)} where hash = ${stored.large.hash}`,
      );
      const report = await verify({ deleteOrphans: true });
      expect(problems(report)).toEqual([`object-missing ${stored.large.hash}`]);
      expect(report.problems[0]?.strayObject).toBe(blobObjectName(stored.large.hash, nonce));
      expect(report.orphans).toEqual([]);
      // Put the nonce back: the object is still there and the blob reads again.
      await database.query(sql`update blob set nonce = ${nonce} where hash = ${stored.large.hash}`);
      expect(problems(await verify())).toEqual([]);
    });

    it("reports object-missing when an object blob's hash is altered, naming its object by the nonce", async () => {
      const { nonce } = await rowOf(stored.large.hash);
      const forged = 'f'.repeat(64);
      await database.query(sql`update blob set hash = ${forged} where hash = ${stored.large.hash}`);
      const report = await verify({ deleteOrphans: true });
      expect(problems(report)).toEqual([`object-missing ${forged}`]);
      expect(report.problems[0]?.strayObject).toBe(blobObjectName(stored.large.hash, nonce));
      expect(report.orphans).toEqual([]);
    });

    it('reports data-key-unwrap-failed, with the master key id, when a wrapped data key is altered', async () => {
      const { wrappedKey, keyId } = await rowOf(stored.large.hash);
      const altered = Buffer.from(wrappedKey, 'base64');
      altered[20] = (altered[20] ?? 0) ^ 0x80;
      await database.query(
        sql`update blob set wrapped_key = ${altered.toString('base64')} where hash = ${stored.large.hash}`,
      );
      const report = await verify();
      expect(problems(report)).toEqual([`data-key-unwrap-failed ${stored.large.hash}`]);
      expect(report.problems[0]?.keyId).toBe(keyId);
    });

    it("reports size-mismatch when a row's size is altered", async () => {
      await database.query(sql`update blob set size = size + 1 where hash = ${stored.otherLarge.hash}`);
      expect(problems(await verify())).toEqual([`size-mismatch ${stored.otherLarge.hash}`]);
    });

    it('reports hash-mismatch when other content is encrypted under the right key, nonce and hash', async () => {
      const { wrappedKey, keyId } = await rowOf(stored.small.hash);
      const dataKey = await keys.unwrap({ keyId, wrapped: Buffer.from(wrappedKey, 'base64') });
      const { nonce, sealed } = encrypt(
        dataKey,
        Buffer.from('forged'),
        `concordia-blob:v1:${stored.small.hash}`,
      );
      await database.query(sql`update blob set nonce = ${nonce.toString('hex')},
        ciphertext = decode(${sealed.toString('base64')}, 'base64') where hash = ${stored.small.hash}`);
      expect(problems(await verify())).toEqual([`hash-mismatch ${stored.small.hash}`]);
    });

    it('reports object-missing when an object file is deleted, and authentication-failed when one is corrupted', async () => {
      await rm(await objectPath(stored.large.hash));
      const corrupted = await objectPath(stored.otherLarge.hash);
      const bytes = randomBytes(5016);
      await writeFile(corrupted, bytes);
      const report = await verify();
      expect(problems(report)).toEqual(
        [`object-missing ${stored.large.hash}`, `authentication-failed ${stored.otherLarge.hash}`].sort(),
      );
      expect(
        report.problems.find((problem) => problem.kind === 'object-missing')?.strayObject,
      ).toBeUndefined();
    });

    it('reports object-unreadable when the object cannot be read', async () => {
      const path = await objectPath(stored.large.hash);
      await rm(path);
      await mkdir(path);
      expect(problems(await verify())).toEqual([`object-unreadable ${stored.large.hash}`]);
    });

    it('reports master-key-missing with the missing key id for every blob when the master key is not configured', async () => {
      const report = await verify({ keys: masterKeyRing(randomBytes(32)) });
      expect(problems(report)).toEqual(
        Object.values(stored)
          .map((info) => `master-key-missing ${info.hash}`)
          .sort(),
      );
      expect(new Set(report.problems.map((problem) => problem.keyId))).toEqual(new Set([keys.currentKeyId]));
    });

    it('lists an object no row refers to as an orphan, spares a young one, and deletes old ones on request', async () => {
      // A write that sealed its content and failed before its row was inserted.
      const sealed = await blobs.seal(randomBytes(2048));
      const name = blobObjectName(sealed.hash, sealed.nonce);
      const young = await verify({ orphanMinAgeMs: 60 * 60 * 1000 });
      expect(young.orphans).toEqual([]);
      expect(young.recentObjectsSkipped).toBe(1);
      expect(young.objectsListed).toBe(3);

      const path = join(dir, 'blobs', name.slice(0, 2), name.slice(2, 4), name);
      const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      await utimes(path, twoHoursAgo, twoHoursAgo);
      const found = await verify({ orphanMinAgeMs: 60 * 60 * 1000 });
      expect(problems(found)).toEqual([]);
      expect(found.orphans).toEqual([{ name, modifiedAt: twoHoursAgo.toISOString(), deleted: false }]);

      const deleted = await verify({ deleteOrphans: true });
      expect(deleted.orphans.map((orphan) => [orphan.name, orphan.deleted])).toEqual([[name, true]]);
      expect(await objects.get(name)).toBeUndefined();
      const after = await verify();
      expect(after.orphans).toEqual([]);
      expect(after.objectsListed).toBe(2);
    });

    it('lists, on request, the blobs no resource version refers to', async () => {
      const referring = {
        resourceType: 'DocumentReference',
        content: [
          {
            attachment: {
              contentType: 'text/plain',
              _data: {
                extension: [
                  {
                    url: 'https://concordia.example/fhir/StructureDefinition/attachment-blob',
                    valueString: stored.small.hash,
                  },
                ],
              },
            },
          },
        ],
      };
      await database.query(sql`insert into resource_history
        (resource_type, id, version_id, last_updated, method, deleted, content)
        values ('DocumentReference', 'note-1', 1, now(), 'POST', false, ${JSON.stringify(referring)})`);
      const report = await verify({ unreferenced: true });
      expect(report.unreferenced).toEqual(
        [stored.otherSmall.hash, stored.large.hash, stored.otherLarge.hash].sort(),
      );
    });
  });
}
