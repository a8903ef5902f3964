/**
 * `_sort` and paging (http://hl7.org/fhir/R4/search.html#sort, #count, and http.html#paging):
 * keyset cursors in next/previous links stay correct while resources are written between pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, patient, type TestApp } from '../support/test-app.ts';
import { createResource, linkPath, list, matchIds, searchBundle, uniqueName } from './search-helpers.ts';

for (const database of testDatabases()) {
  describe(`FHIR search sorting and paging on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    /** Patients of one family with the given first names; returns their ids in creation order. */
    async function family(givens: string[]): Promise<{ family: string; ids: string[] }> {
      const name = uniqueName('Page');
      const ids: string[] = [];
      for (const given of givens) ids.push(await createResource(t, patient({ family: name, given })));
      return { family: name, ids };
    }

    async function allPages(firstUrl: string, between?: () => Promise<void>): Promise<string[][]> {
      const pages: string[][] = [];
      let url: string | undefined = firstUrl;
      while (url !== undefined) {
        const bundle = await searchBundle(t, url);
        pages.push(matchIds(bundle));
        url = linkPath(bundle, 'next');
        if (between !== undefined) await between();
      }
      return pages;
    }

    it('sorts by a string parameter ascending and descending, ties by id (search.html#sort)', async () => {
      const { family: name, ids } = await family(['Cora', 'Abel', 'Bea', 'Abel']);
      const [cora = '', abel1 = '', bea = '', abel2 = ''] = ids;
      const abels = [abel1, abel2].sort();
      const ascending = await searchBundle(t, `/fhir/Patient?family=${name}&_sort=given`);
      expect(matchIds(ascending)).toEqual([...abels, bea, cora]);
      const descending = await searchBundle(t, `/fhir/Patient?family=${name}&_sort=-given`);
      expect(matchIds(descending)).toEqual([cora, bea, ...abels]);
    });

    it('sorts by _lastUpdated descending and by _id (search.html#sort)', async () => {
      const { family: name, ids } = await family(['A', 'B', 'C']);
      const newest = await searchBundle(t, `/fhir/Patient?family=${name}&_sort=-_lastUpdated`);
      // Two writes may share a millisecond, so compare the instants rather than the ids.
      const instants = list(newest.entry).map((entry) =>
        String(at(entry, 'resource', 'meta', 'lastUpdated')),
      );
      expect(instants).toEqual([...instants].sort().reverse());
      expect(matchIds(newest).sort()).toEqual([...ids].sort());
      const byId = await searchBundle(t, `/fhir/Patient?family=${name}&_sort=_id`);
      expect(matchIds(byId)).toEqual([...ids].sort());
    });

    it('pages with _count=2 without duplicates or gaps while resources are added (search.html#count)', async () => {
      const { family: name, ids } = await family(['Ann', 'Bob', 'Cid', 'Dan', 'Eve']);
      let added = 0;
      const pages = await allPages(`/fhir/Patient?family=${name}&_sort=given&_count=2`, async () => {
        added += 1;
        // Sorts before and after the page boundary alike; must not disturb the pre-existing rows.
        await createResource(t, patient({ family: name, given: added % 2 === 0 ? 'Aaa' : 'Zzz' }));
      });
      expect(pages.every((page) => page.length <= 2)).toBe(true);
      const seen = pages.flat();
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    });

    it('walks back with previous links and offers a first link (http.html#paging)', async () => {
      const { family: name, ids } = await family(['P1', 'P2', 'P3', 'P4', 'P5']);
      const first = await searchBundle(t, `/fhir/Patient?family=${name}&_sort=_id&_count=2`);
      expect(linkPath(first, 'previous')).toBeUndefined();
      const second = await searchBundle(t, linkPath(first, 'next') ?? '');
      const third = await searchBundle(t, linkPath(second, 'next') ?? '');
      expect(linkPath(third, 'next')).toBeUndefined();
      const back = await searchBundle(t, linkPath(third, 'previous') ?? '');
      expect(matchIds(back)).toEqual(matchIds(second));
      const backAgain = await searchBundle(t, linkPath(back, 'previous') ?? '');
      expect(matchIds(backAgain)).toEqual(matchIds(first));
      expect(linkPath(backAgain, 'previous')).toBeUndefined();
      expect([...matchIds(first), ...matchIds(second), ...matchIds(third)]).toEqual([...ids].sort());
      expect(linkPath(third, 'first')).toBe(`/fhir/Patient?family=${name}&_sort=_id&_count=2`);
    });

    it('pages through the default order (type, id) with every existing match once', async () => {
      const { family: name, ids } = await family(['Q1', 'Q2', 'Q3']);
      const pages = await allPages(`/fhir/Patient?family=${name}&_count=1`);
      expect(pages.flat()).toEqual([...ids].sort());
    });

    // The default order's page is cut from index rows before resources are read (store/search/
    // search-statement.ts): a resource with two matching names must still count and appear once,
    // and a deleted one not at all.
    it('walks the default order forwards and back, a resource with two matching names once, with its total', async () => {
      const { family: name, ids } = await family(['R1', 'R2', 'R3', 'R4']);
      ids.push(
        await createResource(t, {
          resourceType: 'Patient',
          name: [
            { family: name, given: ['R5'] },
            { family: name, given: ['R5b'] },
          ],
        }),
      );
      const gone = await createResource(t, patient({ family: name, given: 'R6' }));
      const deleted = await t.app.inject({ method: 'DELETE', url: `/fhir/Patient/${gone}` });
      expect(deleted.statusCode).toBe(204);
      const url = `/fhir/Patient?family=${name}&_count=2&_total=accurate`;
      const forwards = [await searchBundle(t, url)];
      for (let next = linkPath(forwards[0] ?? {}, 'next'); next !== undefined; ) {
        const page = await searchBundle(t, next);
        forwards.push(page);
        next = linkPath(page, 'next');
      }
      expect(forwards.map((page) => page.total)).toEqual([5, 5, 5]);
      expect(forwards.flatMap(matchIds)).toEqual([...ids].sort());
      const backwards = [forwards.at(-1) ?? {}];
      for (let previous = linkPath(backwards[0] ?? {}, 'previous'); previous !== undefined; ) {
        const page = await searchBundle(t, previous);
        backwards.unshift(page);
        previous = linkPath(page, 'previous');
      }
      expect(backwards.map(matchIds)).toEqual(forwards.map(matchIds));
    });

    it('rejects a tampered cursor with 400', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/fhir/Patient?_cursor=bm9wZQ' });
      expect(response.statusCode).toBe(400);
    });
  });
}
