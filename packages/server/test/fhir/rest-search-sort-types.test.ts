/**
 * `_sort` on number, quantity, uri and reference parameters (http://hl7.org/fhir/R4/search.html#sort)
 * with the semantics of the other sorts: lowest value ascending, highest descending, resources
 * without a value last, ties by id, and keyset paging across the sorted pages in both directions.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { createResource, linkPath, matchIds, searchBundle, uniqueName } from './search-helpers.ts';

const UCUM = 'http://unitsofmeasure.org';

for (const database of testDatabases()) {
  describe(`FHIR _sort on number, quantity, uri and reference parameters on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    /** Every page from `firstUrl` by next links, then back from the last by previous links. */
    async function pagesBothWays(firstUrl: string): Promise<{ forward: string[][]; backward: string[][] }> {
      const forward: string[][] = [];
      let last: Record<string, unknown> | undefined;
      let url: string | undefined = firstUrl;
      while (url !== undefined) {
        last = await searchBundle(t, url);
        forward.push(matchIds(last));
        url = linkPath(last, 'next');
      }
      if (last === undefined) return { forward, backward: [] };
      const backward: string[][] = [matchIds(last)];
      url = linkPath(last, 'previous');
      while (url !== undefined) {
        const bundle = await searchBundle(t, url);
        backward.unshift(matchIds(bundle));
        url = linkPath(bundle, 'previous');
      }
      return { forward, backward };
    }

    it('sorts by a number parameter, a resource with several values by its lowest or highest, none last (search.html#sort)', async () => {
      const subject = `Patient/${uniqueName('risk')}`;
      const risk = (...probabilities: number[]): FhirResource => ({
        resourceType: 'RiskAssessment',
        status: 'final',
        subject: { reference: subject },
        ...(probabilities.length > 0
          ? { prediction: probabilities.map((probabilityDecimal) => ({ probabilityDecimal })) }
          : {}),
      });
      const high = await createResource(t, risk(0.8));
      const none = await createResource(t, risk());
      const spread = await createResource(t, risk(0.1, 0.9));
      const low = await createResource(t, risk(0.25));
      const mid = await createResource(t, risk(0.5));
      const url = `/fhir/RiskAssessment?subject=${subject}`;
      expect(matchIds(await searchBundle(t, `${url}&_sort=probability`))).toEqual([
        spread,
        low,
        mid,
        high,
        none,
      ]);
      expect(matchIds(await searchBundle(t, `${url}&_sort=-probability`))).toEqual([
        spread,
        high,
        mid,
        low,
        none,
      ]);
      // Paging: the cursor carries a numeric key (and a missing one) across pages, both ways.
      const { forward, backward } = await pagesBothWays(`${url}&_sort=-probability&_count=2`);
      expect(forward).toEqual([[spread, high], [mid, low], [none]]);
      expect(backward).toEqual(forward);
    });

    it('sorts by a quantity parameter by its value in canonical units, 5400 ug beside 5.4 mg (search.html#sort)', async () => {
      const code = uniqueName('sortqty');
      const observation = (valueQuantity?: Record<string, unknown>): FhirResource => ({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://concordia.example/codes', code }] },
        ...(valueQuantity !== undefined ? { valueQuantity } : { valueString: 'none' }),
      });
      const gram = await createResource(t, observation({ value: 1, system: UCUM, code: 'g' }));
      const none = await createResource(t, observation());
      const mg = await createResource(t, observation({ value: 5.4, system: UCUM, code: 'mg' }));
      const below = await createResource(
        t,
        observation({ value: 2, comparator: '<', system: UCUM, code: 'mg' }),
      );
      const ug = await createResource(t, observation({ value: 5400, system: UCUM, code: 'ug' }));
      const threeMg = await createResource(t, observation({ value: 3, system: UCUM, code: 'mg' }));
      const ties = [mg, ug].sort();
      const url = `/fhir/Observation?code=${code}`;
      expect(matchIds(await searchBundle(t, `${url}&_sort=value-quantity`))).toEqual([
        below,
        threeMg,
        ...ties,
        gram,
        none,
      ]);
      expect(matchIds(await searchBundle(t, `${url}&_sort=-value-quantity`))).toEqual([
        gram,
        ...ties,
        threeMg,
        below,
        none,
      ]);
      // Pages split the tie between 5.4 mg and 5400 ug: the cursor's equal key falls back to the id.
      const { forward, backward } = await pagesBothWays(`${url}&_sort=value-quantity&_count=3`);
      expect(forward).toEqual([
        [below, threeMg, ties[0]],
        [ties[1], gram, none],
      ]);
      expect(backward).toEqual(forward);
    });

    it('sorts by a uri parameter, none last, and pages through it (search.html#sort)', async () => {
      const name = uniqueName('SortUri');
      const base = `http://${name.toLowerCase()}.example/fhir/ValueSet`;
      const valueSet = (url?: string): FhirResource => ({
        resourceType: 'ValueSet',
        status: 'draft',
        name,
        ...(url !== undefined ? { url } : {}),
      });
      const b = await createResource(t, valueSet(`${base}/b`));
      const none = await createResource(t, valueSet());
      const c = await createResource(t, valueSet(`${base}/c`));
      const a = await createResource(t, valueSet(`${base}/a`));
      const url = `/fhir/ValueSet?name:exact=${name}`;
      expect(matchIds(await searchBundle(t, `${url}&_sort=url`))).toEqual([a, b, c, none]);
      expect(matchIds(await searchBundle(t, `${url}&_sort=-url`))).toEqual([c, b, a, none]);
      const { forward, backward } = await pagesBothWays(`${url}&_sort=url&_count=1`);
      expect(forward).toEqual([[a], [b], [c], [none]]);
      expect(backward).toEqual(forward);
    });

    it('sorts by a reference parameter by the target Type/id, none last (search.html#sort)', async () => {
      const code = uniqueName('sortref');
      const observation = (subject?: string): FhirResource => ({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://concordia.example/codes', code }] },
        ...(subject !== undefined ? { subject: { reference: subject } } : {}),
      });
      const patientB = await createResource(t, observation(`Patient/${code}-b`));
      const none = await createResource(t, observation());
      const group = await createResource(t, observation(`Group/${code}-z`));
      const patientA = await createResource(t, observation(`Patient/${code}-a`));
      const url = `/fhir/Observation?code=${code}`;
      expect(matchIds(await searchBundle(t, `${url}&_sort=subject`))).toEqual([
        group,
        patientA,
        patientB,
        none,
      ]);
      expect(matchIds(await searchBundle(t, `${url}&_sort=-subject`))).toEqual([
        patientB,
        patientA,
        group,
        none,
      ]);
      const { forward } = await pagesBothWays(`${url}&_sort=-subject,_id&_count=3`);
      expect(forward).toEqual([[patientB, patientA, group], [none]]);
    });

    it('sorts a Period open at either end by its infinite bound and pages past it (search.html#sort, #date)', async () => {
      const code = uniqueName('sortdate');
      const observation = (effective: Record<string, unknown>): FhirResource => ({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://concordia.example/codes', code }] },
        ...effective,
      });
      const openStart = await createResource(t, observation({ effectivePeriod: { end: '2020-01-01' } }));
      const none = await createResource(t, observation({}));
      const in2021 = await createResource(t, observation({ effectiveDateTime: '2021-06-01' }));
      const openEnd = await createResource(t, observation({ effectivePeriod: { start: '2019-01-01' } }));
      const url = `/fhir/Observation?code=${code}&_count=1`;
      const ascending = await pagesBothWays(`${url}&_sort=date`);
      expect(ascending.forward).toEqual([[openStart], [openEnd], [in2021], [none]]);
      expect(ascending.backward).toEqual(ascending.forward);
      const descending = await pagesBothWays(`${url}&_sort=-date`);
      expect(descending.forward).toEqual([[openEnd], [in2021], [openStart], [none]]);
      expect(descending.backward).toEqual(descending.forward);
    });

    it('accepts these sorts under strict handling (search.html#errors)', async () => {
      for (const url of [
        '/fhir/RiskAssessment?_sort=probability',
        '/fhir/Observation?_sort=-value-quantity',
        '/fhir/ValueSet?_sort=url',
        '/fhir/Observation?_sort=subject',
      ]) {
        const response = await t.app.inject({ method: 'GET', url, headers: { prefer: 'handling=strict' } });
        expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
      }
    });
  });
}
