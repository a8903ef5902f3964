/**
 * `concordia blobs verify` through the installed launcher, as an operator or a scheduler runs it:
 * exit status 0 on a sound store, 1 with the damaged blob named (text and --json), 2 on a usage or
 * configuration error, and --help that lists what it reports. On the embedded database (PGlite);
 * the checks themselves run on PostgreSQL too in verify-blobs.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesystemBlobObjects } from '../../src/blobs/blob-objects.ts';
import { blobObjectName, createBlobStore } from '../../src/blobs/blob-store.ts';
import { masterKeyRing } from '../../src/blobs/master-key-ring.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPgliteDatabase } from '../../src/store/pglite.ts';
import { readString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { concordia } from '../support/run-cli.ts';

describe('concordia blobs verify', () => {
  it('exits 0 on a sound store, 1 naming a blob whose object is gone, 2 on a usage or key error', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'concordia-blobs-cli-'));
    try {
      const masterKey = randomBytes(32);
      const env = { CONCORDIA_DATA_DIR: dataDir, CONCORDIA_MASTER_KEY: masterKey.toString('base64') };
      const database = await openPgliteDatabase({ dataDir: join(dataDir, 'pglite') });
      let large: string;
      let largeObject: string;
      try {
        await migrate(database);
        const blobs = createBlobStore({
          database,
          objects: filesystemBlobObjects(join(dataDir, 'blobs')),
          keys: masterKeyRing(masterKey),
          objectMinBytes: 1024,
        });
        await blobs.put(Buffer.from('Discharge summary'), 'text/plain');
        large = (await blobs.put(randomBytes(2048))).hash;
        const [row] = await database.query(sql`select nonce from blob where hash = ${large}`);
        largeObject = blobObjectName(large, readString(row ?? {}, 'nonce'));
      } finally {
        await database.close();
      }

      const sound = await concordia(['blobs', 'verify'], env);
      expect(sound.code, sound.stderr).toBe(0);
      expect(sound.stdout).toBe(
        'Checked 2 blobs (1 in their row, 1 in objects; 2065 bytes decrypted) and 1 objects.\n' +
          'Every blob verified: decrypted, authenticated, hash and size agree.\n',
      );
      expect(sound.stderr).toContain('blobs verify: 2/2 blobs checked');

      await rm(join(dataDir, 'blobs', largeObject.slice(0, 2), largeObject.slice(2, 4), largeObject));
      const damaged = await concordia(['blobs', 'verify', '--json'], env);
      expect(damaged.code, damaged.stderr).toBe(1);
      const report: unknown = JSON.parse(damaged.stdout);
      expect(report).toMatchObject({
        blobsChecked: 2,
        problems: [{ kind: 'object-missing', hash: large, object: largeObject }],
        orphans: [],
      });
      const text = await concordia(['blobs', 'verify'], env);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`1 blobs failed:\n  object-missing           ${large}: `);

      const otherKey = await concordia(['blobs', 'verify'], {
        ...env,
        CONCORDIA_MASTER_KEY: randomBytes(32).toString('base64'),
      });
      expect(otherKey.code).toBe(1);
      expect(otherKey.stdout).toContain('master-key-missing');

      const usage = await concordia(['blobs', 'verify', '--orphan-min-age', 'soon'], env);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('--orphan-min-age');
      const badKey = await concordia(['blobs', 'verify'], { ...env, CONCORDIA_MASTER_KEY: 'c2hvcnQ=' });
      expect(badKey.code).toBe(2);

      const help = await concordia(['blobs', 'verify', '--help'], env);
      expect(help.code).toBe(0);
      for (const kind of ['object-missing', 'master-key-missing', 'authentication-failed', 'size-mismatch'])
        expect(help.stdout).toContain(kind);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
