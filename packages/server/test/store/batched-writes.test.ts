/**
 * `StoreTransaction.lockForWrite` and the write queue (store/batched-writes.ts): the writes of
 * locked resources wait in the transaction and go out in one statement, yet the store keeps every
 * promise of the port — version numbers, If-Match and create-only refusals, reads of what the
 * transaction wrote, old index rows replaced — and the version recorders see every version.
 */
import { FhirError } from '@concordia/fhir';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { Database } from '../../src/store/database.ts';
import type { RecordedVersion, ResourceStore, StoredVersion, VersionRecorder } from '../../src/store/port.ts';
import { createResourceStore } from '../../src/store/resource-store.ts';
import { readNumber } from '../../src/store/rows.ts';
import { type Sql, sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { searchIds } from '../support/search-ids.ts';
import { fakeIndexer, patient } from './fake-indexer.ts';

const ctx = systemContext('batched-writes-test');

/** Counts the statements a transaction sends, and what the recorders were given. */
function countingDatabase(db: Database): Database & { statements: number } {
  const counted = {
    ...db,
    statements: 0,
    transaction<T>(work: Parameters<Database['transaction']>[0]): Promise<T> {
      return db.transaction((tx) =>
        work({
          ...tx,
          query(statement: Sql) {
            counted.statements += 1;
            return tx.query(statement);
          },
        }),
      ) as Promise<T>;
    },
  };
  return counted;
}

function listeningRecorder(seen: RecordedVersion[]): VersionRecorder {
  return {
    name: 'listening',
    record: (recorded) => {
      seen.push(recorded);
      return [];
    },
    recordMany: (recorded) => {
      seen.push(...recorded);
      return [];
    },
  };
}

for (const database of testDatabases()) {
  describe(`batched writes of locked resources on ${database.name}`, () => {
    let db: Database & { statements: number };
    let store: ResourceStore;
    let recorded: RecordedVersion[];
    beforeEach(async () => {
      db = countingDatabase(await database.create());
      recorded = [];
      store = createResourceStore(db, fakeIndexer, { recorders: [listeningRecorder(recorded)] });
    });
    afterEach(async () => {
      await store.close();
    });

    const put = (tx: Parameters<Parameters<ResourceStore['transact']>[1]>[0], family: string, id: string) =>
      tx.apply(ctx, { kind: 'write', method: 'PUT', resource: patient(id, { family }) });

    async function count(statement: Sql): Promise<number> {
      const [row] = await db.query(statement);
      return row === undefined ? 0 : readNumber(row, 'n');
    }

    it('updates locked resources and creates absent ones with one lock and one write statement', async () => {
      await store.transact(ctx, (tx) => put(tx, 'Before', 'old'));
      db.statements = 0;
      const versions = await store.transact(ctx, async (tx) => {
        await tx.lockForWrite([
          { resourceType: 'Patient', id: 'old' },
          { resourceType: 'Patient', id: 'new-1' },
          { resourceType: 'Patient', id: 'new-2' },
        ]);
        const written: StoredVersion[] = [];
        for (const [id, family] of [
          ['new-1', 'Fresh'],
          ['old', 'After'],
          ['new-2', 'Fresh'],
        ] as const) {
          written.push(await put(tx, family, id));
        }
        return written;
      });
      // The lock and the one write; no statement per resource.
      expect(db.statements).toBe(2);
      expect(versions.map((version) => [version.id, version.versionId])).toEqual([
        ['new-1', 1],
        ['old', 2],
        ['new-2', 1],
      ]);
      expect(await store.read(ctx, 'Patient', 'old')).toMatchObject({ versionId: 2, method: 'PUT' });
      expect(await searchIds(store, ctx, 'Patient', [['name', 'before']], 10)).toEqual([]);
      expect(await searchIds(store, ctx, 'Patient', [['name', 'after']], 10)).toEqual(['old']);
      expect(await searchIds(store, ctx, 'Patient', [['name', 'fresh']], 10)).toEqual(['new-1', 'new-2']);
      expect(await count(sql`select count(*) as n from resource_history where id = 'old'`)).toBe(2);
      expect(recorded.map(({ version }) => `${version.id}/${version.versionId}`)).toEqual([
        'old/1',
        'new-1/1',
        'old/2',
        'new-2/1',
      ]);
    });

    it('stores the JSON of every resource of a batch exactly, whatever characters its strings hold', async () => {
      // The batch sends its versions' JSON joined by U+001E (batched-writes.ts contentList): a
      // separator, quote, backslash, control character or non-BMP character inside a string
      // must come back as it was, for creates and updates alike.
      const families = ['Quote " and \\ back', 'Separator \u001e inside', 'Line\nbreak and\ttab', 'Ко 😀 ☃'];
      await store.transact(ctx, (tx) => put(tx, 'Before', 'exact-0'));
      await store.transact(ctx, async (tx) => {
        await tx.lockForWrite(
          families.map((_, index) => ({ resourceType: 'Patient', id: `exact-${index}` })),
        );
        for (const [index, family] of families.entries()) await put(tx, family, `exact-${index}`);
      });
      for (const [index, family] of families.entries()) {
        const read = await store.read(ctx, 'Patient', `exact-${index}`);
        expect(read?.versionId).toBe(index === 0 ? 2 : 1);
        expect(JSON.parse(read?.json ?? '{}').name[0].family).toBe(family);
      }
      const history = await store.history(ctx, { resourceType: 'Patient', id: 'exact-1', count: 10 });
      expect(JSON.parse(history.versions[0]?.json ?? '{}').name[0].family).toBe(families[1]);
    });

    it('reads a locked resource as the transaction left it, before its write reaches the database', async () => {
      await store.transact(ctx, (tx) => put(tx, 'One', 'read-back'));
      await store.transact(ctx, async (tx) => {
        await tx.lockForWrite([
          { resourceType: 'Patient', id: 'read-back' },
          { resourceType: 'Patient', id: 'absent' },
        ]);
        expect(await tx.read(ctx, 'Patient', 'absent')).toBeUndefined();
        expect(await tx.read(ctx, 'Patient', 'read-back')).toMatchObject({ versionId: 1 });
        await put(tx, 'Two', 'read-back');
        const read = await tx.read(ctx, 'Patient', 'read-back');
        expect(read?.versionId).toBe(2);
        expect(JSON.parse(read?.json ?? '{}').name[0].family).toBe('Two');
        // A second write of the same resource follows the first.
        expect((await put(tx, 'Three', 'read-back')).versionId).toBe(3);
      });
      const history = await store.history(ctx, { resourceType: 'Patient', id: 'read-back', count: 10 });
      expect(history.versions.map((version) => version.versionId)).toEqual([3, 2, 1]);
    });

    it('refuses If-Match with another version (412) and a create of a locked existing id (409)', async () => {
      await store.transact(ctx, (tx) => put(tx, 'Kept', 'guarded'));
      const stale = store.transact(ctx, async (tx) => {
        await tx.lockForWrite([{ resourceType: 'Patient', id: 'guarded' }]);
        return tx.apply(ctx, {
          kind: 'write',
          method: 'PUT',
          resource: patient('guarded', { family: 'Changed' }),
          ifMatch: 7,
        });
      });
      await expect(stale).rejects.toSatisfy(
        (error: unknown) => error instanceof FhirError && error.status === 412,
      );
      const created = store.transact(ctx, async (tx) => {
        await tx.lockForWrite([{ resourceType: 'Patient', id: 'guarded' }]);
        return tx.apply(ctx, {
          kind: 'write',
          method: 'POST',
          resource: patient('guarded', { family: 'Changed' }),
          mustNotExist: true,
        });
      });
      await expect(created).rejects.toSatisfy(
        (error: unknown) => error instanceof FhirError && error.status === 409,
      );
      expect(await store.read(ctx, 'Patient', 'guarded')).toMatchObject({ versionId: 1 });
    });

    // PGlite runs one transaction at a time: no other writer can come in between, so the race
    // exists (and is tested) on PostgreSQL only.
    if (database.name === 'postgres')
      it('fails the transaction with 409, writing nothing, when an absent id is created meanwhile', async () => {
        const racing = store.transact(ctx, async (tx) => {
          await tx.lockForWrite([
            { resourceType: 'Patient', id: 'raced' },
            { resourceType: 'Patient', id: 'not-raced' },
          ]);
          await put(tx, 'Queued', 'raced');
          await put(tx, 'Queued', 'not-raced');
          // Another transaction takes the id before the queue is written.
          await store.transact(ctx, (other) => put(other, 'Winner', 'raced'));
        });
        await expect(racing).rejects.toSatisfy(
          (error: unknown) => error instanceof FhirError && error.status === 409,
        );
        expect(await store.read(ctx, 'Patient', 'raced')).toMatchObject({ versionId: 1 });
        expect(await store.read(ctx, 'Patient', 'not-raced')).toBeUndefined();
      });

    it('revives a deleted resource it locked, and a delete between writes is read back', async () => {
      await store.transact(ctx, (tx) => put(tx, 'Alive', 'revived'));
      await store.transact(ctx, (tx) =>
        tx.apply(ctx, { kind: 'delete', resourceType: 'Patient', id: 'revived' }),
      );
      await store.transact(ctx, async (tx) => {
        await tx.lockForWrite([{ resourceType: 'Patient', id: 'revived' }]);
        expect(await tx.read(ctx, 'Patient', 'revived')).toMatchObject({ versionId: 2, deleted: true });
        expect((await put(tx, 'Again', 'revived')).versionId).toBe(3);
        await tx.apply(ctx, { kind: 'delete', resourceType: 'Patient', id: 'revived' });
        expect(await tx.read(ctx, 'Patient', 'revived')).toMatchObject({ versionId: 4, deleted: true });
        expect((await put(tx, 'Last', 'revived')).versionId).toBe(5);
      });
      expect(await searchIds(store, ctx, 'Patient', [['name', 'last']], 10)).toEqual(['revived']);
      expect(await searchIds(store, ctx, 'Patient', [['name', 'again']], 10)).toEqual([]);
    });
  });
}
