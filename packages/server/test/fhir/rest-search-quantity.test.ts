/**
 * Quantity search over HTTP (http://hl7.org/fhir/R4/search.html#quantity, #prefix) on the
 * search_quantity index: canonical UCUM units, `||unit`, number only, every prefix, and stored
 * quantities with a comparator, on every configured database.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, json, type TestApp } from '../support/test-app.ts';
import { createResource, list, matchIds, searchBundle, uniqueName } from './search-helpers.ts';

const UCUM = 'http://unitsofmeasure.org';
const SNOMED = 'http://snomed.info/sct';

for (const database of testDatabases()) {
  describe(`FHIR quantity search on ${database.name}`, () => {
    let t: TestApp;
    let code: string;
    /** Observations by what their valueQuantity holds. */
    const ids: Record<string, string> = {};

    const observation = (valueQuantity: Record<string, unknown>): FhirResource => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://concordia.example/codes', code }] },
      valueQuantity,
    });

    beforeAll(async () => {
      t = await createTestApp(database);
      code = uniqueName('qty');
      const quantities: Record<string, Record<string, unknown>> = {
        mg5_4: { value: 5.4, unit: 'mg', system: UCUM, code: 'mg' },
        ug5400: { value: 5400, unit: 'µg', system: UCUM, code: 'ug' },
        mg1: { value: 1, unit: 'mg', system: UCUM, code: 'mg' },
        kg5_4: { value: 5.4, unit: 'kg', system: UCUM, code: 'kg' },
        m5_4: { value: 5.4, unit: 'm', system: UCUM, code: 'm' },
        below5mg: { value: 5, comparator: '<', unit: 'mg', system: UCUM, code: 'mg' },
        atLeast10mg: { value: 10, comparator: '>=', unit: 'mg', system: UCUM, code: 'mg' },
        snomed5_4: { value: 5.4, unit: 'mg', system: SNOMED, code: '258684004' },
        unitOnly5_4: { value: 5.4, unit: 'mg' },
        glucose: { value: 5.5, unit: 'mmol/L', system: UCUM, code: 'mmol/L' },
        whiteCells: { value: 4.1, unit: '10*3/uL', system: UCUM, code: '10*3/uL' },
      };
      for (const [name, quantity] of Object.entries(quantities)) {
        ids[name] = await createResource(t, observation(quantity));
      }
    });
    afterAll(async () => {
      await t?.close();
    });

    const search = async (value: string) =>
      matchIds(
        await searchBundle(t, `/fhir/Observation?code=${code}&value-quantity=${encodeURIComponent(value)}`),
      ).sort();
    const named = (...names: string[]) => names.map((name) => ids[name] ?? `unknown ${name}`).sort();

    it('matches number|system|code in canonical UCUM units, 5.4 mg finding 5400 ug (search.html#quantity)', async () => {
      expect(await search(`5.4|${UCUM}|mg`)).toEqual(named('mg5_4', 'ug5400'));
    });

    it('converts in the other direction too: 5400 ug finds 5.4 mg (search.html#quantity)', async () => {
      expect(await search(`5400|${UCUM}|ug`)).toEqual(named('mg5_4', 'ug5400'));
      expect(await search(`0.0054|${UCUM}|g`)).toEqual(named('mg5_4', 'ug5400'));
    });

    it('keeps moles apart from counts, which UCUM base units alone would not (search.html#quantity)', async () => {
      expect(await search(`le101|${UCUM}|mmol/L`)).toEqual(named('glucose'));
      expect(await search(`5.5|${UCUM}|mol/m3`)).toEqual(named('glucose'));
      expect(await search(`4.1|${UCUM}|10*9/L`)).toEqual(named('whiteCells'));
      expect(await search(`gt0|${UCUM}|10*9/L`)).toEqual(named('whiteCells'));
    });

    it('matches number||unit against the code or the human unit, without conversion (search.html#quantity)', async () => {
      expect(await search('5.4||mg')).toEqual(named('mg5_4', 'snomed5_4', 'unitOnly5_4'));
      expect(await search('5400||ug')).toEqual(named('ug5400'));
    });

    it('matches a number alone in any unit (search.html#quantity)', async () => {
      expect(await search('5.4')).toEqual(named('mg5_4', 'kg5_4', 'm5_4', 'snomed5_4', 'unitOnly5_4'));
    });

    it('matches a non-UCUM system and code as written (search.html#quantity)', async () => {
      expect(await search(`5.4|${SNOMED}|258684004`)).toEqual(named('snomed5_4'));
      expect(await search(`5.4|${SNOMED}|mg`)).toEqual([]);
    });

    it('uses the implied precision of eq and ne (search.html#number: 5.4 is [5.35, 5.45))', async () => {
      expect(await search(`5.40|${UCUM}|mg`)).toEqual(named('mg5_4', 'ug5400'));
      expect(await search(`5.5|${UCUM}|mg`)).toEqual([]);
      expect(await search(`5|${UCUM}|mg`)).toEqual(named('mg5_4', 'ug5400'));
      // ne: every gram-convertible quantity not in range, including the open intervals.
      expect(await search(`ne5.4|${UCUM}|mg`)).toEqual(named('mg1', 'kg5_4', 'below5mg', 'atLeast10mg'));
    });

    it('applies gt lt ge le to stored intervals: <5 mg intersects "above 3 mg" (search.html#prefix)', async () => {
      expect(await search(`gt5|${UCUM}|mg`)).toEqual(named('mg5_4', 'ug5400', 'kg5_4', 'atLeast10mg'));
      expect(await search(`gt3|${UCUM}|mg`)).toEqual(
        named('mg5_4', 'ug5400', 'kg5_4', 'atLeast10mg', 'below5mg'),
      );
      expect(await search(`lt5|${UCUM}|mg`)).toEqual(named('mg1', 'below5mg'));
      expect(await search(`lt12|${UCUM}|mg`)).toEqual(
        named('mg1', 'mg5_4', 'ug5400', 'below5mg', 'atLeast10mg'),
      );
      expect(await search(`ge10|${UCUM}|mg`)).toEqual(named('kg5_4', 'atLeast10mg'));
      expect(await search(`le1|${UCUM}|mg`)).toEqual(named('mg1', 'below5mg'));
      // A stored >=10 mg reaches beyond any value: it intersects "above 1 kg".
      expect(await search(`gt1|${UCUM}|kg`)).toEqual(named('kg5_4', 'atLeast10mg'));
    });

    it('applies sa and eb only to intervals wholly above or below (search.html#prefix)', async () => {
      expect(await search(`sa3|${UCUM}|mg`)).toEqual(named('mg5_4', 'ug5400', 'kg5_4', 'atLeast10mg'));
      expect(await search(`eb12|${UCUM}|mg`)).toEqual(named('mg1', 'mg5_4', 'ug5400', 'below5mg'));
      expect(await search(`eb1|${UCUM}|mg`)).toEqual([]);
    });

    it('matches ap within 10% of the value, overlapping open intervals (search.html#prefix)', async () => {
      expect(await search(`ap5|${UCUM}|mg`)).toEqual(named('mg5_4', 'ug5400', 'below5mg'));
      expect(await search(`ap5000|${UCUM}|ug`)).toEqual(named('mg5_4', 'ug5400', 'below5mg'));
      expect(await search(`ap11|${UCUM}|mg`)).toEqual(named('atLeast10mg'));
      // In any unit, `>=10 mg` still overlaps [4500, 5500].
      expect(await search('ap5000')).toEqual(named('ug5400', 'atLeast10mg'));
    });

    it('applies prefixes to a number alone in any unit (search.html#quantity)', async () => {
      // `>=10 mg` intersects "above 1000" in its own unit; the value alone ignores units.
      expect(await search('gt1000')).toEqual(named('ug5400', 'atLeast10mg'));
      expect(await search('lt2')).toEqual(named('mg1', 'below5mg'));
    });

    it('ORs comma-separated values and supports :missing (search.html#combining, #missing)', async () => {
      expect(await search(`1|${UCUM}|mg,5.4|${SNOMED}|258684004`)).toEqual(named('mg1', 'snomed5_4'));
      const noValue = await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://concordia.example/codes', code }] },
        valueString: 'not measured',
      });
      const missing = await searchBundle(t, `/fhir/Observation?code=${code}&value-quantity:missing=true`);
      expect(matchIds(missing)).toEqual([noValue]);
    });

    it('refuses a malformed quantity with 400 under strict handling (search.html#errors)', async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/fhir/Observation?value-quantity=${encodeURIComponent(`5.4|${UCUM}`)}`,
        headers: { prefer: 'handling=strict' },
      });
      expect(response.statusCode).toBe(400);
      expect(at(json(response.body), 'issue', 0, 'expression')).toEqual(['value-quantity']);
    });

    it('lists quantity parameters in the CapabilityStatement', async () => {
      const statement = json((await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).body);
      const observationRest = list(at(statement, 'rest', 0, 'resource')).find(
        (resource) => at(resource, 'type') === 'Observation',
      );
      const parameters = list(at(observationRest, 'searchParam')).map((parameter) => [
        at(parameter, 'name'),
        at(parameter, 'type'),
      ]);
      expect(parameters).toEqual(
        expect.arrayContaining([
          ['value-quantity', 'quantity'],
          ['component-value-quantity', 'quantity'],
        ]),
      );
    });
  });
}
