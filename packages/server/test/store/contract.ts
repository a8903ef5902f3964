/**
 * The storage contract (store/port.ts), one suite for every adapter (STYLE.md, after Hono's shared
 * router suite). Each test gets a fresh database from the factory and asserts what the FHIR spec
 * and the port promise, reading the tables directly where the promise is about them.
 */
import { FhirError, type IdentifiedResource, isRecord, type ResourceIndex } from '@concordia/fhir';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { Database } from '../../src/store/database.ts';
import type { ResourceChange, ResourceStore, StoredVersion, StoreReads } from '../../src/store/port.ts';
import { createResourceStore } from '../../src/store/resource-store.ts';
import { readNumber, readString } from '../../src/store/rows.ts';
import { identifier, sql } from '../../src/store/sql.ts';
import { type Criteria, searchIds } from '../support/search-ids.ts';
import { fakeIndexer, observation, patient } from './fake-indexer.ts';

const ctx = systemContext('store-contract');

export interface ContractOptions {
  /** The indexer the store is built with (default: the suite's fake). */
  indexer?: (resource: IdentifiedResource) => ResourceIndex;
}

export function describeResourceStoreContract(
  name: string,
  createDatabase: () => Promise<Database>,
  options: ContractOptions = {},
): void {
  describe(`ResourceStore contract on ${name}`, () => {
    let db: Database;
    let store: ResourceStore;

    beforeEach(async () => {
      db = await createDatabase();
      store = createResourceStore(db, options.indexer ?? contractIndexer);
    });
    afterEach(async () => {
      await store.close();
    });

    const apply = (change: ResourceChange) => store.transact(ctx, (tx) => tx.apply(ctx, change));
    const create = (resource: IdentifiedResource) =>
      apply({ kind: 'write', method: 'POST', resource, mustNotExist: true });
    const update = (resource: IdentifiedResource, ifMatch?: number) =>
      apply({ kind: 'write', method: 'PUT', resource, ...(ifMatch !== undefined ? { ifMatch } : {}) });
    const remove = (resourceType: string, id: string, ifMatch?: number) =>
      apply({ kind: 'delete', resourceType, id, ...(ifMatch !== undefined ? { ifMatch } : {}) });
    const findIds = (resourceType: string, criteria: Criteria, count = 100, reads: StoreReads = store) =>
      searchIds(reads, ctx, resourceType, criteria, count);

    async function rowCount(table: string, id: string): Promise<number> {
      const [row] = await db.query(sql`select count(*) as n from ${identifier(table)} where id = ${id}`);
      return row === undefined ? 0 : readNumber(row, 'n');
    }

    async function compartmentOf(resourceType: string, id: string): Promise<string[]> {
      const rows = await db.query(sql`select patient_id from compartment
        where resource_type = ${resourceType} and id = ${id} order by patient_id`);
      return rows.map((row) => readString(row, 'patient_id'));
    }

    describe('versions (http.html#update, #vread)', () => {
      it('creates version 1 with meta.versionId and meta.lastUpdated in the stored JSON', async () => {
        const stored = await create(patient('p1'));
        expect(stored).toMatchObject({
          resourceType: 'Patient',
          id: 'p1',
          versionId: 1,
          method: 'POST',
          deleted: false,
        });
        expect(stored.lastUpdated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        expect(parse(stored).meta).toEqual({ versionId: '1', lastUpdated: stored.lastUpdated });
        expect(await store.read(ctx, 'Patient', 'p1')).toEqual(stored);
      });

      it('numbers versions 1..n per resource and keeps every one readable', async () => {
        await create(patient('p1', { family: 'One' }));
        await update(patient('p1', { family: 'Two' }));
        const third = await update(patient('p1', { family: 'Three' }));
        expect(third.versionId).toBe(3);
        for (const [versionId, family] of [
          [1, 'One'],
          [2, 'Two'],
          [3, 'Three'],
        ] as const) {
          const version = await store.readVersion(ctx, 'Patient', 'p1', versionId);
          expect(version?.versionId).toBe(versionId);
          expect(parse(version).name).toEqual([{ family, given: ['Oksana'] }]);
        }
        expect(await store.readVersion(ctx, 'Patient', 'p1', 4)).toBeUndefined();
        expect(await store.read(ctx, 'Patient', 'nobody')).toBeUndefined();
      });

      it('overwrites client-supplied meta.versionId/lastUpdated and keeps the rest of meta', async () => {
        const stored = await create({
          ...patient('p1'),
          meta: { versionId: '99', lastUpdated: '2000-01-01T00:00:00Z', tag: [{ code: 'keep' }] },
        });
        expect(parse(stored).meta).toEqual({
          versionId: '1',
          lastUpdated: stored.lastUpdated,
          tag: [{ code: 'keep' }],
        });
      });

      it('takes lastUpdated from the database clock: the column equals meta.lastUpdated', async () => {
        const before = await databaseNow(db);
        const stored = await create(patient('p1'));
        const after = await databaseNow(db);
        expect(stored.lastUpdated >= before && stored.lastUpdated <= after).toBe(true);
        const [row] = await db.query(sql`select last_updated from resource where id = 'p1'`);
        const [history] = await db.query(sql`select last_updated from resource_history where id = 'p1'`);
        expect(row && readString(row, 'last_updated')).toBe(stored.lastUpdated);
        expect(history && readString(history, 'last_updated')).toBe(stored.lastUpdated);
      });

      it('gives every change of one transaction the transaction timestamp', async () => {
        const [a, b] = await store.transact(ctx, async (tx) => {
          const first = await tx.apply(ctx, { kind: 'write', method: 'POST', resource: patient('a') });
          await new Promise((resolve) => setTimeout(resolve, 20));
          const second = await tx.apply(ctx, { kind: 'write', method: 'POST', resource: patient('b') });
          return [first, second];
        });
        expect(a.lastUpdated).toBe(b.lastUpdated);
      });
    });

    describe('delete (http.html#delete)', () => {
      it('writes a tombstone version and keeps the earlier versions', async () => {
        await create(patient('p1'));
        await update(patient('p1', { family: 'Two' }));
        const tombstone = await remove('Patient', 'p1');
        expect(tombstone).toMatchObject({ versionId: 3, deleted: true, method: 'DELETE' });
        expect(tombstone.json).toBeUndefined();
        expect(await store.read(ctx, 'Patient', 'p1')).toEqual(tombstone);
        expect((await store.readVersion(ctx, 'Patient', 'p1', 2))?.deleted).toBe(false);
        expect(await store.readVersion(ctx, 'Patient', 'p1', 3)).toEqual(tombstone);
      });

      it('deleting again writes nothing and returns the same tombstone', async () => {
        await create(patient('p1'));
        const tombstone = await remove('Patient', 'p1');
        expect(await remove('Patient', 'p1')).toEqual(tombstone);
        const page = await store.history(ctx, { resourceType: 'Patient', id: 'p1', count: 10 });
        expect(page.versions.map((v) => v.versionId)).toEqual([2, 1]);
      });

      it('fails with 404 for a resource that never existed', async () => {
        await expectFhirError(remove('Patient', 'nobody'), 404);
      });

      it('an update after a delete revives the resource with the next version', async () => {
        await create(patient('p1'));
        await remove('Patient', 'p1');
        const revived = await update(patient('p1'));
        expect(revived).toMatchObject({ versionId: 3, deleted: false });
        expect(await findIds('Patient', [['_id', 'p1']])).toEqual(['p1']);
      });
    });

    describe('preconditions (http.html#concurrency)', () => {
      it('fails with 412 when If-Match does not match the current version, and writes nothing', async () => {
        await create(patient('p1'));
        await update(patient('p1'));
        await expectFhirError(update(patient('p1'), 1), 412);
        await expectFhirError(remove('Patient', 'p1', 1), 412);
        await expectFhirError(update(patient('p2'), 1), 412);
        expect((await store.read(ctx, 'Patient', 'p1'))?.versionId).toBe(2);
        expect((await update(patient('p1'), 2)).versionId).toBe(3);
        expect((await remove('Patient', 'p1', 3)).versionId).toBe(4);
      });

      it('fails with 409 when a create must not find an existing id (deleted ones included)', async () => {
        await create(patient('p1'));
        await expectFhirError(create(patient('p1')), 409);
        await remove('Patient', 'p1');
        await expectFhirError(create(patient('p1')), 409);
      });

      it('maps a concurrent create of one id to a version or a 409, never a raw database error', async () => {
        const results = await Promise.allSettled(Array.from({ length: 5 }, () => update(patient('same'))));
        for (const result of results) {
          if (result.status === 'rejected') {
            expect(result.reason).toBeInstanceOf(FhirError);
            expect(result.reason).toHaveProperty('status', 409);
          }
        }
        const written = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.versionId);
        expect(written.sort()).toEqual(Array.from({ length: written.length }, (_, i) => i + 1));
      });
    });

    describe('transactions', () => {
      it('rolls back every change, index and compartment rows included, when the work throws', async () => {
        const failure = new Error('abort the bundle');
        await expect(
          store.transact(ctx, async (tx) => {
            await tx.apply(ctx, {
              kind: 'write',
              method: 'POST',
              resource: patient('p1', { identifier: { value: 'X1' } }),
            });
            await tx.apply(ctx, { kind: 'write', method: 'POST', resource: observation('o1', 'Patient/p1') });
            expect(await findIds('Patient', [['identifier', 'X1']], 10, tx)).toEqual(['p1']);
            throw failure;
          }),
        ).rejects.toBe(failure);
        for (const table of [
          'resource',
          'resource_history',
          'search_token',
          'search_string',
          'search_reference',
          'search_date',
          'search_number',
          'search_quantity',
          'search_uri',
          'compartment',
        ]) {
          expect(await rowCount(table, 'p1'), table).toBe(0);
          expect(await rowCount(table, 'o1'), table).toBe(0);
        }
      });

      it('rolls back an update, restoring the previous index rows', async () => {
        await create(patient('p1', { family: 'Before' }));
        await expect(
          store.transact(ctx, async (tx) => {
            await tx.apply(ctx, {
              kind: 'write',
              method: 'PUT',
              resource: patient('p1', { family: 'After' }),
            });
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        expect(await findIds('Patient', [['name:exact', 'Before']])).toEqual(['p1']);
        expect((await store.read(ctx, 'Patient', 'p1'))?.versionId).toBe(1);
      });

      it('sees its own uncommitted writes', async () => {
        await store.transact(ctx, async (tx) => {
          await tx.apply(ctx, { kind: 'write', method: 'POST', resource: patient('p1') });
          expect((await tx.read(ctx, 'Patient', 'p1'))?.versionId).toBe(1);
        });
      });
    });

    describe('search by index (search.html)', () => {
      beforeEach(async () => {
        await create(
          patient('kov', {
            family: 'Kovalenko',
            given: ['Oksana'],
            identifier: { system: 'urn:oid:1', value: 'A1' },
          }),
        );
        await create(
          patient('sev', {
            family: 'Ševčenko',
            given: ['Taras', 'H.'],
            identifier: { value: 'A1' },
            gender: 'male',
          }),
        );
        await create(
          patient('pct', { family: '100%_Sure', identifier: { system: 'urn:oid:2', value: 'B2' } }),
        );
      });
      const sorted = async (ids: Promise<string[]>) => (await ids).sort();

      it('matches by id', async () => {
        expect(await sorted(findIds('Patient', [['_id', 'kov,sev,nope']]))).toEqual(['kov', 'sev']);
      });

      it('matches tokens as system|code, |code, system| and code', async () => {
        const token = (value: string) => sorted(findIds('Patient', [['identifier', value]]));
        expect(await token('urn:oid:1|A1')).toEqual(['kov']);
        expect(await token('|A1')).toEqual(['sev']);
        expect(await token('urn:oid:2|')).toEqual(['pct']);
        expect(await token('A1')).toEqual(['kov', 'sev']);
        expect(await token('a1')).toEqual([]);
        expect(await token('A1,B2')).toEqual(['kov', 'pct', 'sev']);
      });

      it('matches strings by prefix and substring, case- and accent-insensitively, and exactly', async () => {
        const name = (modifier: '' | ':exact' | ':contains', value: string) =>
          sorted(findIds('Patient', [[`name${modifier}`, value]]));
        expect(await name('', 'sevc')).toEqual(['sev']);
        expect(await name('', 'ŠEV')).toEqual(['sev']);
        expect(await name('', 'ko,tar')).toEqual(['kov', 'sev']);
        expect(await name(':contains', 'enk')).toEqual(['kov', 'sev']);
        expect(await name(':exact', 'Ševčenko')).toEqual(['sev']);
        expect(await name(':exact', 'Sevcenko')).toEqual([]);
        expect(await name(':exact', 'ševčenko')).toEqual([]);
      });

      it('treats % and _ in a value literally', async () => {
        const name = (modifier: '' | ':contains', value: string) =>
          sorted(findIds('Patient', [[`name${modifier}`, value]]));
        expect(await name('', '100%')).toEqual(['pct']);
        expect(await name(':contains', '%_s')).toEqual(['pct']);
        expect(await name('', '%')).toEqual([]);
        expect(await name(':contains', '_')).toEqual(['pct']);
      });

      it('ANDs criteria, ORs values, honours the limit and skips deleted resources', async () => {
        const both: Criteria = [
          ['identifier', 'A1'],
          ['gender', 'male'],
        ];
        expect(await findIds('Patient', both)).toEqual(['sev']);
        expect(await findIds('Patient', [], 2)).toEqual(['kov', 'pct']);
        await remove('Patient', 'sev');
        expect(await findIds('Patient', both)).toEqual([]);
        expect(await findIds('Patient', [['_id', 'sev']])).toEqual([]);
      });

      it('replaces index rows on update', async () => {
        await update(patient('kov', { family: 'Bondarenko', identifier: { value: 'C3' } }));
        const name = (value: string) => findIds('Patient', [['name', value]]);
        expect(await name('kovalenko')).toEqual([]);
        expect(await name('bondar')).toEqual(['kov']);
        expect(await findIds('Patient', [['identifier', 'C3']])).toEqual(['kov']);
        expect(await rowCount('search_token', 'kov')).toBe(2);
      });
    });

    describe('date, number, quantity and uri index rows (search.html#date, #number, #quantity, #uri)', () => {
      const VALUE_TABLES = ['search_date', 'search_number', 'search_quantity', 'search_uri'] as const;

      async function valueRows(id: string): Promise<Record<string, string[]>> {
        const dates = await db.query(sql`select param,
            case when isfinite(low) then to_char(low at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
              else low::text end as low,
            case when isfinite(high) then to_char(high at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
              else high::text end as high
          from search_date where id = ${id} order by param, low`);
        const numbers = await db.query(sql`select param, value::text as value, low::text as low,
            high::text as high from search_number where id = ${id} order by param, value`);
        const quantities = await db.query(sql`select param, coalesce(system, '-') as system,
            coalesce(code, '-') as code, coalesce(unit, '-') as unit, value::text as value, low::text as low,
            high::text as high, coalesce(canonical_code, '-') as canonical_code,
            coalesce(canonical_value::text, '-') as canonical_value,
            coalesce(canonical_low::text, '-') as canonical_low,
            coalesce(canonical_high::text, '-') as canonical_high
          from search_quantity where id = ${id} order by param, value, search_quantity.system nulls last`);
        const uris = await db.query(
          sql`select param, value from search_uri where id = ${id} order by param, value`,
        );
        const line = (row: Record<string, unknown>, columns: readonly string[]) =>
          columns.map((column) => readString(row, column)).join(' ');
        return {
          dates: dates.map((row) => line(row, ['param', 'low', 'high'])),
          numbers: numbers.map((row) => line(row, ['param', 'value', 'low', 'high'])),
          quantities: quantities.map((row) =>
            line(row, [
              'param',
              'system',
              'code',
              'unit',
              'value',
              'low',
              'high',
              'canonical_code',
              'canonical_value',
              'canonical_low',
              'canonical_high',
            ]),
          ),
          uris: uris.map((row) => line(row, ['param', 'value'])),
        };
      }

      it('writes them with the resource, open bounds and missing units included', async () => {
        await create(
          measurement('m1', { start: '2021-03-01T00:00:00.000Z', value: 5.4, profile: 'http://x/p' }),
        );
        expect(await valueRows('m1')).toEqual({
          dates: ['date 2021-03-01T00:00:00.000Z infinity'],
          numbers: ['value-integer 7 7 7'],
          quantities: [
            'value-quantity http://unitsofmeasure.org mg milligram 5.4 5.35 5.45 g 0.0054 0.00535 0.00545',
            'value-quantity - - - 5.4 -Infinity 5.45 - - - -',
          ],
          uris: ['_profile http://x/p'],
        });
      });

      it('replaces them on update and removes them on delete', async () => {
        await create(
          measurement('m1', { start: '2021-03-01T00:00:00.000Z', value: 5.4, profile: 'http://x/p' }),
        );
        await update(
          measurement('m1', { end: '2022-01-01T00:00:00.000Z', value: 100, profile: 'http://x/q' }),
        );
        expect(await valueRows('m1')).toMatchObject({
          dates: ['date -infinity 2022-01-01T00:00:00.000Z'],
          numbers: ['value-integer 7 7 7'],
          uris: ['_profile http://x/q'],
        });
        expect((await valueRows('m1')).quantities).toEqual([
          'value-quantity http://unitsofmeasure.org mg milligram 100 99.5 100.5 g 0.1 0.0995 0.1005',
          'value-quantity - - - 100 -Infinity 100.5 - - - -',
        ]);
        await remove('Observation', 'm1');
        for (const table of VALUE_TABLES) expect(await rowCount(table, 'm1'), table).toBe(0);
      });

      it('rolls back with the transaction, restoring the previous rows', async () => {
        await create(
          measurement('m1', { start: '2021-03-01T00:00:00.000Z', value: 5.4, profile: 'http://x/p' }),
        );
        const before = await valueRows('m1');
        await expect(
          store.transact(ctx, async (tx) => {
            await tx.apply(ctx, {
              kind: 'write',
              method: 'PUT',
              resource: measurement('m1', {
                start: '2020-06-01T00:00:00.000Z',
                value: 9,
                profile: 'http://x/r',
              }),
            });
            await tx.apply(ctx, {
              kind: 'write',
              method: 'POST',
              resource: measurement('m2', {
                start: '2020-01-01T00:00:00.000Z',
                value: 9,
                profile: 'http://x/s',
              }),
            });
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect(await valueRows('m1')).toEqual(before);
        for (const table of VALUE_TABLES) expect(await rowCount(table, 'm2'), table).toBe(0);
      });
    });

    describe('Patient compartment', () => {
      it('stores, replaces and removes the compartment rows with the resource', async () => {
        await create(patient('p1'));
        await create(observation('o1', 'Patient/p1'));
        expect(await compartmentOf('Patient', 'p1')).toEqual(['p1']);
        expect(await compartmentOf('Observation', 'o1')).toEqual(['p1']);
        await update(observation('o1', 'Patient/p2'));
        expect(await compartmentOf('Observation', 'o1')).toEqual(['p2']);
        expect(await rowCount('search_reference', 'o1')).toBe(1);
        await remove('Observation', 'o1');
        expect(await compartmentOf('Observation', 'o1')).toEqual([]);
        expect(await rowCount('search_reference', 'o1')).toBe(0);
        expect(await rowCount('search_token', 'o1')).toBe(0);
      });
    });

    describe('history (http.html#history)', () => {
      it('lists instance, type and system history newest first, tombstones included', async () => {
        await create(patient('p1'));
        await create(observation('o1', 'Patient/p1'));
        await update(patient('p1'));
        await remove('Patient', 'p1');
        const keys = (versions: StoredVersion[]) =>
          versions.map((v) => `${v.resourceType}/${v.id}/${v.versionId}/${v.method}`);
        const instance = await store.history(ctx, { resourceType: 'Patient', id: 'p1', count: 10 });
        expect(keys(instance.versions)).toEqual([
          'Patient/p1/3/DELETE',
          'Patient/p1/2/PUT',
          'Patient/p1/1/POST',
        ]);
        expect(instance.versions[0]?.json).toBeUndefined();
        const type = await store.history(ctx, { resourceType: 'Observation', count: 10, total: true });
        expect(keys(type.versions)).toEqual(['Observation/o1/1/POST']);
        expect(type.total).toBe(1);
        const system = await store.history(ctx, { count: 10 });
        expect(keys(system.versions)).toEqual([
          'Patient/p1/3/DELETE',
          'Patient/p1/2/PUT',
          'Observation/o1/1/POST',
          'Patient/p1/1/POST',
        ]);
        expect(system.next).toBeUndefined();
      });

      it('pages with a cursor that stays correct while new versions are written', async () => {
        for (let i = 1; i <= 10; i += 1) await create(patient(`p${i}`));
        const seen: string[] = [];
        let page = await store.history(ctx, { resourceType: 'Patient', count: 3, total: true });
        expect(page.total).toBe(10);
        for (;;) {
          seen.push(...page.versions.map((v) => v.id));
          await create(patient(`late${seen.length}`));
          await update(patient('p1'));
          if (page.next === undefined) break;
          page = await store.history(ctx, { resourceType: 'Patient', count: 3, cursor: page.next });
        }
        expect(seen).toEqual(['p10', 'p9', 'p8', 'p7', 'p6', 'p5', 'p4', 'p3', 'p2', 'p1']);
      });

      it('rejects a cursor it did not issue with 400', async () => {
        await expectFhirError(store.history(ctx, { count: 3, cursor: 'not-a-cursor' }), 400);
      });

      it('filters by _since and _at', async () => {
        const v1 = await create(patient('p1'));
        await pause();
        const v2 = await update(patient('p1'));
        await pause();
        const other = await create(patient('p2'));
        await pause();
        const v3 = await update(patient('p1'));
        const versions = async (query: { since?: string; at?: string }) =>
          (await store.history(ctx, { resourceType: 'Patient', count: 10, ...query })).versions.map(
            (v) => `${v.id}/${v.versionId}`,
          );
        expect(await versions({ since: v2.lastUpdated })).toEqual(['p1/3', 'p2/1', 'p1/2']);
        expect(await versions({ since: v3.lastUpdated })).toEqual(['p1/3']);
        expect(await versions({ at: v1.lastUpdated })).toEqual(['p1/1']);
        expect(await versions({ at: other.lastUpdated })).toEqual(['p2/1', 'p1/2']);
        expect(await versions({ at: '2000-01-01T00:00:00Z' })).toEqual([]);
        await expectFhirError(store.history(ctx, { count: 10, since: 'yesterday' }), 400);
      });
    });

    describe('statistics', () => {
      it('refreshes the planner statistics of the store tables after a bulk load', async () => {
        await create(patient('p1', { family: 'Kovalenko' }));
        await create(patient('p2', { family: 'Melnyk' }));
        await store.refreshStatistics();
        const [row] = await db.query(sql`select reltuples from pg_class
          where relname = 'resource' and relnamespace = current_schema()::regnamespace`);
        expect(Number(row?.reltuples)).toBe(2);
      });
    });

    describe('concurrency', () => {
      it('20 concurrent lock + find + create-if-none transactions create exactly one resource', async () => {
        const identifierValue = 'NID-1';
        const criteria: Criteria = [['identifier', identifierValue]];
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.transact(ctx, async (tx) => {
              await tx.lock(`Patient?identifier=${identifierValue}`);
              const found = await findIds('Patient', criteria, 2, tx);
              if (found.length > 0) return 'found';
              await tx.apply(ctx, {
                kind: 'write',
                method: 'POST',
                resource: patient(`c${i}`, { identifier: { value: identifierValue } }),
                mustNotExist: true,
              });
              return 'created';
            }),
          ),
        );
        expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
        expect(await findIds('Patient', criteria)).toHaveLength(1);
      });

      it('20 concurrent updates of one resource give versions 1..21 without gaps or duplicates', async () => {
        await create(patient('p1'));
        const versions = await Promise.all(Array.from({ length: 20 }, () => update(patient('p1'))));
        expect(versions.map((v) => v.versionId).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 2),
        );
        const page = await store.history(ctx, { resourceType: 'Patient', id: 'p1', count: 100 });
        expect(page.versions.map((v) => v.versionId)).toEqual(Array.from({ length: 21 }, (_, i) => 21 - i));
        for (const version of page.versions)
          expect(parse(version).meta?.versionId).toBe(String(version.versionId));
      });
    });

    it('reports ready once migrated', async () => {
      expect(await store.readiness()).toMatchObject({ ready: true });
    });
  });
}

/**
 * The suite's fake indexer plus the value types of the `measurement` Observations below, with
 * ranges written out by hand: these tests are about the rows, not about computing them.
 */
function contractIndexer(resource: IdentifiedResource): ResourceIndex {
  const index = fakeIndexer(resource);
  const period = isRecord(resource.effectivePeriod) ? resource.effectivePeriod : undefined;
  const quantity = isRecord(resource.valueQuantity) ? resource.valueQuantity : undefined;
  const value = typeof quantity?.value === 'number' ? String(quantity.value) : undefined;
  const ranges = value === undefined ? undefined : QUANTITY_RANGES[value];
  if (!period || value === undefined || !ranges) return index;
  const [low, high, canonicalValue, canonicalLow, canonicalHigh] = ranges;
  const profiles =
    isRecord(resource.meta) && Array.isArray(resource.meta.profile) ? resource.meta.profile : [];
  const start = typeof period.start === 'string' ? period.start : '-infinity';
  const end = typeof period.end === 'string' ? period.end : 'infinity';
  return {
    ...index,
    dates: [{ param: 'date', low: start, high: end }],
    numbers: [{ param: 'value-integer', value: '7', low: '7', high: '7' }],
    quantities: [
      {
        param: 'value-quantity',
        value,
        low,
        high,
        system: 'http://unitsofmeasure.org',
        code: 'mg',
        unit: 'milligram',
        canonicalCode: 'g',
        canonicalValue,
        canonicalLow,
        canonicalHigh,
      },
      // A quantity without units, whose comparator (`<`) opens its lower bound.
      {
        param: 'value-quantity',
        value,
        low: '-Infinity',
        high,
        system: null,
        code: null,
        unit: null,
        canonicalCode: null,
        canonicalValue: null,
        canonicalLow: null,
        canonicalHigh: null,
      },
    ],
    uris: profiles
      .filter((profile) => typeof profile === 'string')
      .map((profile) => ({ param: '_profile', value: profile })),
  };
}

/** value → low, high, and the same three in grams, for the values the tests use (mg). */
const QUANTITY_RANGES: Partial<Record<string, readonly [string, string, string, string, string]>> = {
  '5.4': ['5.35', '5.45', '0.0054', '0.00535', '0.00545'],
  '100': ['99.5', '100.5', '0.1', '0.0995', '0.1005'],
  '9': ['8.5', '9.5', '0.009', '0.0085', '0.0095'],
};

/** An Observation of a quantity in mg over a Period, with a profile: one row of each value type. */
function measurement(
  id: string,
  fields: { start?: string; end?: string; value: number; profile: string },
): IdentifiedResource {
  return {
    ...observation(id, 'Patient/p1'),
    meta: { profile: [fields.profile] },
    effectivePeriod: {
      ...(fields.start !== undefined ? { start: fields.start } : {}),
      ...(fields.end !== undefined ? { end: fields.end } : {}),
    },
    valueQuantity: {
      value: fields.value,
      unit: 'milligram',
      system: 'http://unitsofmeasure.org',
      code: 'mg',
    },
  };
}

function parse(version: StoredVersion | undefined): IdentifiedResource {
  if (version?.json === undefined) throw new Error('expected a stored version with JSON');
  const value: unknown = JSON.parse(version.json);
  if (typeof value !== 'object' || value === null || !('id' in value) || typeof value.id !== 'string') {
    throw new Error(`not a resource: ${version.json}`);
  }
  return { resourceType: version.resourceType, ...value, id: value.id };
}

async function databaseNow(db: Database): Promise<string> {
  const [row] = await db.query(sql`select date_trunc('milliseconds', clock_timestamp()) as now`);
  if (row === undefined) throw new Error('no clock');
  return readString(row, 'now');
}

/** Lets the clock move so that consecutive transactions get distinct millisecond timestamps. */
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

async function expectFhirError(promise: Promise<unknown>, status: number): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof FhirError)) throw new Error(`expected a FhirError ${status}, got ${String(error)}`);
  expect(error.status).toBe(status);
}
