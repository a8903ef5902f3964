/**
 * Runs the storage contract on every test database (PGlite always; PostgreSQL with DATABASE_URL),
 * plus a check that the store and the real indexer (`indexResource`) agree on the index they share.
 */
import { indexResource } from '@concordia/fhir';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate, pendingMigrations } from '../../src/store/migrate.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { createResourceStore } from '../../src/store/resource-store.ts';
import { testDatabases } from '../support/databases.ts';
import { type Criteria, searchIds } from '../support/search-ids.ts';
import { describeResourceStoreContract } from './contract.ts';
import { observation, patient } from './fake-indexer.ts';

const ctx = systemContext('store-test');

describe('testDatabases', () => {
  it('runs PostgreSQL only when DATABASE_URL is set', () => {
    expect(testDatabases({}).map((d) => d.name)).toEqual(['pglite']);
    expect(testDatabases({ DATABASE_URL: 'postgres://x@h/db' }).map((d) => d.name)).toEqual([
      'pglite',
      'postgres',
    ]);
  });

  it('fails loudly instead of skipping PostgreSQL when CONCORDIA_REQUIRE_ALL=1', () => {
    expect(() => testDatabases({ CONCORDIA_REQUIRE_ALL: '1' })).toThrow(/DATABASE_URL/);
  });
});

for (const database of testDatabases()) {
  describeResourceStoreContract(database.name, () => database.create());

  describe(`store with the real indexer on ${database.name}`, () => {
    let db: Database;
    let store: ResourceStore;
    beforeEach(async () => {
      db = await database.create();
      store = createResourceStore(db, indexResource);
    });
    afterEach(async () => {
      await store.close();
    });

    it('finds what indexResource indexed: identifier, name and the subject compartment', async () => {
      await store.transact(ctx, async (tx) => {
        await tx.apply(ctx, {
          kind: 'write',
          method: 'POST',
          resource: patient('p1', { family: 'Ševčenko', identifier: { system: 'urn:oid:1', value: 'A1' } }),
        });
        await tx.apply(ctx, { kind: 'write', method: 'POST', resource: observation('o1', 'Patient/p1') });
      });
      const find = (type: string, criteria: Criteria) => searchIds(store, ctx, type, criteria, 10);
      expect(await find('Patient', [['identifier', 'urn:oid:1|A1']])).toEqual(['p1']);
      expect(await find('Patient', [['name', 'sevc']])).toEqual(['p1']);
      expect(await find('Observation', [['code', 'http://loinc.org|8867-4']])).toEqual(['o1']);
      expect(await find('Observation', [['patient', 'p1']])).toEqual(['o1']);
    });
  });

  describe(`migrations on ${database.name}`, () => {
    it('are all applied by create(), and migrating again applies nothing', async () => {
      const db = await database.create();
      try {
        expect(await pendingMigrations(db)).toEqual([]);
        expect(await migrate(db)).toEqual([]);
      } finally {
        await db.close();
      }
    });

    it('concurrent migrations of one database take turns', async () => {
      const db = await database.create();
      try {
        const results = await Promise.all([migrate(db), migrate(db), migrate(db)]);
        expect(results).toEqual([[], [], []]);
      } finally {
        await db.close();
      }
    });
  });
}
