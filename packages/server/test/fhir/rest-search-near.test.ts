/**
 * `near` on Location over HTTP (http://hl7.org/fhir/R4/search.html#special, SearchParameter
 * Location-near: `latitude|longitude|distance|units`) against `search_position` (migration 0003),
 * on every configured database. Distances are great-circle distances on the mean Earth sphere.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, json, type TestApp } from '../support/test-app.ts';
import { createResource, list, matchIds, searchBundle } from './search-helpers.ts';

function location(name: string, latitude?: number, longitude?: number): FhirResource {
  return {
    resourceType: 'Location',
    status: 'active',
    name,
    ...(latitude !== undefined && longitude !== undefined ? { position: { latitude, longitude } } : {}),
  };
}

for (const database of testDatabases()) {
  describe(`FHIR near search on ${database.name}`, () => {
    let t: TestApp;
    const ids = new Map<string, string>();
    const id = (name: string) => ids.get(name) ?? name;
    beforeAll(async () => {
      t = await createTestApp(database);
      const places: [string, number?, number?][] = [
        // location-example (Location/1): the South Wing, Ann Arbor.
        ['annArbor', 42.25475478, -83.6945691],
        // Detroit, 57 km east of Ann Arbor.
        ['detroit', 42.3314, -83.0458],
        // Taveuni, Fiji, on either side of the antimeridian, 21 km apart.
        ['fijiEast', -16.8, 179.9],
        ['fijiWest', -16.8, -179.9],
        // Near the north pole, on opposite meridians: 22 km apart across the pole.
        ['poleA', 89.9, 0],
        ['poleB', 89.9, 180],
        // In the corner of the box around (0, 0) with a radius of 100 km, but 126 km away.
        ['corner', 0.8, 0.8],
        ['nullIsland', 0.1, 0.1],
        ['nowhere'],
      ];
      for (const [name, latitude, longitude] of places) {
        ids.set(name, await createResource(t, location(name, latitude, longitude)));
      }
    });
    afterAll(async () => {
      await t?.close();
    });

    const near = async (value: string) =>
      matchIds(await searchBundle(t, `/fhir/Location?near=${encodeURIComponent(value)}&_sort=_id`));
    const expected = (...names: string[]) => names.map(id).sort();
    const strict = (query: string) =>
      t.app.inject({ method: 'GET', url: `/fhir/Location?${query}`, headers: { prefer: 'handling=strict' } });

    it('finds locations within the distance in km, the default unit (Location-near)', async () => {
      // The value the spec's Location-near discussion uses: 11.2 km around Ann Arbor.
      expect(await near('42.256500|-83.694810|11.20|km')).toEqual(expected('annArbor'));
      expect(await near('42.256500|-83.694810|11.20')).toEqual(expected('annArbor'));
      expect(await near('42.256500|-83.694810|60|km')).toEqual(expected('annArbor', 'detroit'));
      expect(await near('42.256500|-83.694810|50|km')).toEqual(expected('annArbor'));
    });

    it('converts UCUM units of length: m, [mi_i] (Location-near)', async () => {
      expect(await near('42.256500|-83.694810|60000|m')).toEqual(expected('annArbor', 'detroit'));
      expect(await near('42.256500|-83.694810|37|[mi_i]')).toEqual(expected('annArbor', 'detroit'));
      expect(await near('42.256500|-83.694810|30|[mi_i]')).toEqual(expected('annArbor'));
      // Ann Arbor's South Wing is about 190 m from the search point.
      expect(await near('42.256500|-83.694810|250|m')).toEqual(expected('annArbor'));
      expect(await near('42.256500|-83.694810|150|m')).toEqual([]);
    });

    it("uses 5 km when the distance is omitted (the server's discretion, Location-near)", async () => {
      expect(await near('42.2565|-83.6948')).toEqual(expected('annArbor'));
      expect(await near('42.27|-83.0458')).toEqual([]);
      expect(await near('42.32|-83.0458')).toEqual(expected('detroit'));
    });

    it('measures great-circle distance, not the bounding box (search.html#special)', async () => {
      expect(await near('0|0|100|km')).toEqual(expected('nullIsland'));
      expect(await near('0|0|130|km')).toEqual(expected('corner', 'nullIsland'));
    });

    it('crosses the antimeridian and the poles (search.html#special)', async () => {
      // Each box below reaches over ±180°: the longitude range wraps.
      expect(await near('-16.8|180|12|km')).toEqual(expected('fijiEast', 'fijiWest'));
      expect(await near('-16.8|-180|12|km')).toEqual(expected('fijiEast', 'fijiWest'));
      expect(await near('-16.8|-179.95|6|km')).toEqual(expected('fijiWest'));
      expect(await near('-16.8|179.95|6|km')).toEqual(expected('fijiEast'));
      expect(await near('89.9|0|25|km')).toEqual(expected('poleA', 'poleB'));
      expect(await near('89.9|0|20|km')).toEqual(expected('poleA'));
      expect(await near('90|45|12|km')).toEqual(expected('poleA', 'poleB'));
    });

    it('ORs comma-separated points (search.html#combining)', async () => {
      expect(await near('42.3314|-83.0458|1|km,0|0|20|km')).toEqual(expected('detroit', 'nullIsland'));
    });

    it('answers :missing from the position index (search.html#modifiers)', async () => {
      const missing = async (value: string) =>
        matchIds(await searchBundle(t, `/fhir/Location?near:missing=${value}&_sort=_id`));
      expect(await missing('true')).toEqual(expected('nowhere'));
      expect(await missing('false')).toHaveLength(ids.size - 1);
    });

    it('refuses malformed coordinates, distances and units under strict handling (search.html#errors)', async () => {
      for (const value of [
        '91|0|1|km',
        '0|181',
        '0',
        'a|b',
        '0|0|-1|km',
        '0|0|1|kg',
        '0|0|1|km|x',
        '0|0||km',
      ]) {
        const response = await strict(`near=${encodeURIComponent(value)}`);
        expect(response.statusCode, `${value}: ${response.body}`).toBe(400);
      }
      expect((await strict('near=0|0|1|km')).statusCode).toBe(200);
    });

    it('lists near in the CapabilityStatement (http.html#capabilities)', async () => {
      const statement = json((await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).body);
      const locationRest = list(at(statement, 'rest', 0, 'resource')).find(
        (resource) => at(resource, 'type') === 'Location',
      );
      const near = list(at(locationRest, 'searchParam')).find(
        (parameter) => at(parameter, 'name') === 'near',
      );
      expect(at(near, 'type')).toBe('special');
      expect(at(near, 'definition')).toBe('http://hl7.org/fhir/SearchParameter/Location-near');
    });
  });
}
