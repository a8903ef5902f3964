/**
 * `_sort=near` (search.html#sort, SearchParameter Location-near): R4 leaves the order of a `near`
 * search to the server; Concordia sorts by distance when asked, closest first (`-near`: farthest
 * first), a Location's distance being that to the closest point searched, as the location-distance
 * extension defines it. Without a `near` value there is no point to measure from, and the sort is
 * refused. On every configured database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { createResource, linkPath, matchIds, outcomeIssues, searchBundle } from './search-helpers.ts';

for (const database of testDatabases()) {
  describe(`_sort by distance from near on ${database.name}`, () => {
    let t: TestApp;
    const ids = new Map<string, string>();
    const names = (found: string[]) =>
      found.map((id) => [...ids].find(([, value]) => value === id)?.[0] ?? id);
    beforeAll(async () => {
      t = await createTestApp(database);
      // On the equator a tenth of a degree of longitude is 11.1 km.
      const places: [string, number, number][] = [
        ['far', 0, 0.3],
        ['origin', 0, 0],
        ['outside', 0, 1],
        ['west', 0, -0.2],
        ['east', 0, 0.1],
      ];
      for (const [name, latitude, longitude] of places) {
        ids.set(
          name,
          await createResource(t, { resourceType: 'Location', name, position: { latitude, longitude } }),
        );
      }
      ids.set('unplaced', await createResource(t, { resourceType: 'Location', name: 'unplaced' }));
    });
    afterAll(async () => {
      await t?.close();
    });

    const search = async (query: string) =>
      names(matchIds(await searchBundle(t, `/fhir/Location?${query.replaceAll('|', '%7C')}`)));

    it('sorts by distance, closest first, and farthest first with -near', async () => {
      expect(await search('near=0|0|50|km&_sort=near')).toEqual(['origin', 'east', 'west', 'far']);
      expect(await search('near=0|0|50|km&_sort=-near')).toEqual(['far', 'west', 'east', 'origin']);
    });

    it('measures from the closest of several points', async () => {
      // `far` is 1.1 km from the second point; `east` 11.1 km from the first.
      expect(await search('near=0|0|50|km,0|0.31|5|km&_sort=near')).toEqual([
        'origin',
        'far',
        'east',
        'west',
      ]);
    });

    it('pages in distance order with the cursor links, both ways', async () => {
      const first = await searchBundle(t, '/fhir/Location?near=0%7C0%7C50%7Ckm&_sort=near&_count=2');
      expect(names(matchIds(first))).toEqual(['origin', 'east']);
      const nextPath = linkPath(first, 'next');
      expect(nextPath).toBeDefined();
      const second = await searchBundle(t, nextPath ?? '');
      expect(names(matchIds(second))).toEqual(['west', 'far']);
      const back = await searchBundle(t, linkPath(second, 'previous') ?? '');
      expect(names(matchIds(back))).toEqual(['origin', 'east']);
    });

    it('refuses _sort=near without a near value (search.html#errors)', async () => {
      const strict = await t.app.inject({
        method: 'GET',
        url: '/fhir/Location?_sort=near',
        headers: { prefer: 'handling=strict' },
      });
      expect(strict.statusCode).toBe(400);
      const lenient = await searchBundle(t, '/fhir/Location?_sort=near');
      expect(JSON.stringify(outcomeIssues(lenient))).toContain('_sort');
    });
  });
}
