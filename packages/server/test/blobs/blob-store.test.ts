/**
 * Encryption at rest of blobs (DESIGN.md D13, issue 7): AES-256-GCM under a data key per blob,
 * data keys wrapped by a master key, rotation that re-wraps keys without rewriting blob data.
 * Runs on a real database (PGlite and PostgreSQL) and a real directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filesystemBlobObjects } from '../../src/blobs/blob-objects.ts';
import { type BlobStore, createBlobStore } from '../../src/blobs/blob-store.ts';
import type { KeyProvider } from '../../src/blobs/key-provider.ts';
import {
  addMasterKey,
  loadMasterKeyDirectory,
  removeUnusedMasterKeys,
} from '../../src/blobs/master-key-files.ts';
import { masterKeyRing } from '../../src/blobs/master-key-ring.ts';
import { rewrapDataKeys } from '../../src/blobs/rotate-master-key.ts';
import type { Database } from '../../src/store/database.ts';
import { readString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';

const MARKER = 'Diagnosis: HIV positive — Oksana Kovalenko, 1984-03-02';

async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path, await readFile(path));
  }
  return files;
}

async function keyIds(database: Database): Promise<string[]> {
  const rows = await database.query(sql`select key_id from blob order by hash`);
  return rows.map((row) => readString(row, 'key_id'));
}

for (const testDatabase of testDatabases()) {
  describe(`encrypted blob store (${testDatabase.name})`, () => {
    let database: Database;
    let dir: string;
    // Every blob in a file here: the files are under test (the row of a small blob is below).
    const store = (keys: KeyProvider, objectMinBytes = 0): BlobStore =>
      createBlobStore({ database, objects: filesystemBlobObjects(join(dir, 'blobs')), keys, objectMinBytes });

    beforeEach(async () => {
      database = await testDatabase.create();
      dir = await mkdtemp(join(tmpdir(), 'concordia-blobs-'));
    });

    afterEach(async () => {
      await database.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('stores a blob encrypted: no file on disk holds its plaintext, and it reads back whole', async () => {
      const blobs = store(masterKeyRing(randomBytes(32)));
      const plaintext = Buffer.from(MARKER.repeat(200), 'utf8');
      const info = await blobs.put(plaintext, 'text/plain');
      expect(info).toEqual({
        hash: (await import('node:crypto')).createHash('sha256').update(plaintext).digest('hex'),
        size: plaintext.length,
        contentType: 'text/plain',
      });
      const files = await filesUnder(dir);
      expect(files.size).toBe(1);
      for (const bytes of files.values()) {
        expect(bytes.includes(Buffer.from('Oksana'))).toBe(false);
        expect(bytes.length).toBe(plaintext.length + 16);
      }
      const read = await blobs.get(info.hash);
      expect(read?.bytes.equals(plaintext)).toBe(true);
      expect(read?.info.contentType).toBe('text/plain');
      const [row] = await database.query(sql`select * from blob`);
      expect(JSON.stringify(row)).not.toContain('Oksana');
    });

    it('stores the same content once', async () => {
      const blobs = store(masterKeyRing(randomBytes(32)));
      const bytes = randomBytes(4096);
      const [first, second] = await Promise.all([blobs.put(bytes), blobs.put(bytes)]);
      expect(second.hash).toBe(first.hash);
      expect((await filesUnder(dir)).size).toBe(1);
      expect(await keyIds(database)).toHaveLength(1);
      expect((await blobs.get(first.hash))?.bytes.equals(bytes)).toBe(true);
    });

    it('keeps a blob under objectMinBytes encrypted in its row, writes no file, and refuses an altered row', async () => {
      const blobs = store(masterKeyRing(randomBytes(32)), 1024);
      const info = await blobs.put(Buffer.from(MARKER), 'text/plain');
      expect(await filesUnder(dir)).toEqual(new Map());
      const [row] = await database.query(sql`select encode(ciphertext, 'hex') as hex, * from blob`);
      expect(JSON.stringify(row)).not.toContain('Oksana');
      expect(String(row?.hex)).toHaveLength((Buffer.byteLength(MARKER) + 16) * 2);
      expect((await blobs.getMany([info.hash, 'f'.repeat(64)])).get(info.hash)?.toString()).toBe(MARKER);
      await database.query(
        sql`update blob set ciphertext = set_byte(ciphertext, 3, get_byte(ciphertext, 3) # 1) where hash = ${info.hash}`,
      );
      await expect(blobs.get(info.hash)).rejects.toThrow();
    });

    it('refuses to return a blob whose encrypted file was altered on disk', async () => {
      const blobs = store(masterKeyRing(randomBytes(32)));
      const info = await blobs.put(Buffer.from(MARKER));
      const [path, bytes] = [...(await filesUnder(dir)).entries()][0] ?? ['', Buffer.alloc(0)];
      bytes[3] = (bytes[3] ?? 0) ^ 0x01;
      await writeFile(path, bytes);
      await expect(blobs.get(info.hash)).rejects.toThrow();
    });

    it('cannot decrypt a blob without its master key', async () => {
      const info = await store(masterKeyRing(randomBytes(32))).put(Buffer.from(MARKER));
      await expect(store(masterKeyRing(randomBytes(32))).get(info.hash)).rejects.toThrow(/not configured/);
    });

    it('answers undefined for a hash it does not hold', async () => {
      expect(await store(masterKeyRing(randomBytes(32))).get('0'.repeat(64))).toBeUndefined();
    });

    it('rotate-master re-wraps every data key with the new master key and leaves the blob files as they were', async () => {
      const keyDir = join(dir, 'master-keys');
      const before = await loadMasterKeyDirectory(keyDir);
      const contents = [randomBytes(1000), randomBytes(2000), Buffer.from(MARKER)];
      const infos = [];
      for (const bytes of contents) infos.push(await store(before).put(bytes));
      const filesBefore = await filesUnder(join(dir, 'blobs'));
      expect(new Set(await keyIds(database))).toEqual(new Set([before.currentKeyId]));

      const newId = await addMasterKey(keyDir);
      // Until every data key has moved, the old master key stays.
      expect(await removeUnusedMasterKeys(keyDir, new Set(await keyIds(database)))).toEqual([]);
      const during = await loadMasterKeyDirectory(keyDir);
      expect(during.currentKeyId).toBe(newId);
      expect(during.has(before.currentKeyId)).toBe(true);

      const report = await rewrapDataKeys(database, during, { batchSize: 2 });
      expect(report).toEqual({ rewrapped: 3, keyIdsInUse: [newId] });
      expect(await removeUnusedMasterKeys(keyDir, new Set(report.keyIdsInUse))).toEqual([
        before.currentKeyId,
      ]);

      const after = await loadMasterKeyDirectory(keyDir);
      expect(after.has(before.currentKeyId)).toBe(false);
      expect(await filesUnder(join(dir, 'blobs'))).toEqual(filesBefore);
      for (const [index, info] of infos.entries()) {
        expect((await store(after).get(info.hash))?.bytes.equals(contents[index] ?? Buffer.alloc(0))).toBe(
          true,
        );
      }
      expect((await rewrapDataKeys(database, after)).rewrapped).toBe(0);
    });

    it('rotates keys given in the environment: the new key current, the old one previous', async () => {
      const oldKey = randomBytes(32);
      const newKey = randomBytes(32);
      const info = await store(masterKeyRing(oldKey)).put(Buffer.from(MARKER));
      const rotating = masterKeyRing(newKey, [oldKey]);
      expect((await rewrapDataKeys(database, rotating)).rewrapped).toBe(1);
      expect((await store(masterKeyRing(newKey)).get(info.hash))?.bytes.toString()).toBe(MARKER);
      await expect(store(masterKeyRing(oldKey)).get(info.hash)).rejects.toThrow(/not configured/);
    });
  });
}
