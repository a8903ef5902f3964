/**
 * Token search modifiers that need the terminology service (http://hl7.org/fhir/R4/search.html#token):
 * `:below` ("the search parameter tests whether the value in a resource is subsumed by the
 * specified value"), `:above` (subsumes it), `:in` and `:not-in` (is / is not a member of the
 * value set named by URL), over a small loaded ICD-10.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResource, matchIds } from '../fhir/search-helpers.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, json, patient, type TestApp } from '../support/test-app.ts';
import { ASTHMA_VALUE_SET, ICD10, loadTerminologyFixture, SNOMED } from './terminology-fixture.ts';

function condition(subject: string, system: string | undefined, code: string | undefined): FhirResource {
  return {
    resourceType: 'Condition',
    subject: { reference: subject },
    ...(system !== undefined && code !== undefined ? { code: { coding: [{ system, code }] } } : {}),
  };
}

for (const database of testDatabases()) {
  describe(`token :below, :above, :in, :not-in on ${database.name}`, () => {
    let t: TestApp;
    let small: TestApp;
    const ids: Record<string, string> = {};
    let subject = '';
    beforeAll(async () => {
      t = await createTestApp(database);
      small = await createTestApp(database, { CONCORDIA_TERMINOLOGY_SEARCH_MAX_CODES: '2' });
      await loadTerminologyFixture(t);
      await loadTerminologyFixture(small);
      subject = `Patient/${await createResource(t, patient({ family: 'Terminology' }))}`;
      // The Encounters' own patient, so that their Conditions stay out of the Condition searches.
      const visitor = `Patient/${await createResource(t, patient({ family: 'Visitor' }))}`;
      const codes: [string, string | undefined, string | undefined][] = [
        ['J45', ICD10, 'J45'],
        ['J45.0', ICD10, 'J45.0'],
        ['J45.1', ICD10, 'J45.1'],
        ['I10', ICD10, 'I10'],
        ['snomed', SNOMED, '195967001'],
        ['none', undefined, undefined],
      ];
      for (const [key, system, code] of codes)
        ids[key] = await createResource(t, condition(subject, system, code));
      for (const [key, code] of [
        ['asthma-visit', 'J45.1'],
        ['hypertension-visit', 'I10'],
      ] as const) {
        ids[key] = await createResource(t, {
          resourceType: 'Encounter',
          status: 'finished',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: visitor },
        });
        await createResource(t, {
          ...condition(visitor, ICD10, code),
          encounter: { reference: `Encounter/${ids[key]}` },
        });
      }
    });
    afterAll(async () => {
      await t.close();
      await small.close();
    });

    const search = async (app: TestApp, query: string) => {
      const response = await app.app.inject({ method: 'GET', url: `/fhir/Condition?${query}&_count=100` });
      return response;
    };
    const found = async (query: string): Promise<string[]> => {
      const response = await search(t, `${query}&subject=${subject}`);
      expect(response.statusCode, response.body).toBe(200);
      return matchIds(json(response.body)).sort();
    };
    const expected = (...keys: string[]) => keys.map((key) => ids[key]).sort();

    it('code:below=system|code matches the code and every code it subsumes (search.html#token)', async () => {
      expect(await found(`code:below=${encodeURIComponent(`${ICD10}|J45`)}`)).toEqual(
        expected('J45', 'J45.0', 'J45.1'),
      );
    });

    it('code:above=system|code matches the code and every code that subsumes it', async () => {
      expect(await found(`code:above=${encodeURIComponent(`${ICD10}|J45.0`)}`)).toEqual(
        expected('J45', 'J45.0'),
      );
    });

    it('code:in=[value set url] matches codings in the value set; :not-in every other resource', async () => {
      const url = encodeURIComponent(ASTHMA_VALUE_SET);
      expect(await found(`code:in=${url}`)).toEqual(expected('J45', 'J45.0', 'J45.1'));
      // search.html#modifiers: like :not, :not-in also matches resources without a value.
      expect(await found(`code:not-in=${url}`)).toEqual(expected('I10', 'snomed', 'none'));
    });

    it('ORs comma-separated values and ANDs with other filters', async () => {
      const below = encodeURIComponent(`${ICD10}|J45.0,${ICD10}|I10`);
      expect(await found(`code:below=${below}`)).toEqual(expected('J45.0', 'I10'));
      expect(await found(`code:below=${encodeURIComponent(`${ICD10}|J45`)}&_id=${ids['J45.1']}`)).toEqual(
        expected('J45.1'),
      );
    });

    it('resolves the modifier inside _has (search.html#has)', async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/fhir/Encounter?_has:Condition:encounter:code:below=${encodeURIComponent(`${ICD10}|J45`)}`,
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(matchIds(json(response.body))).toEqual([ids['asthma-visit']]);
    });

    it('answers 400 when :below has no system (subsumption is defined within one code system)', async () => {
      const response = await search(t, 'code:below=J45');
      expect(response.statusCode).toBe(400);
      expect(at(json(response.body), 'issue', 0, 'expression')).toEqual(['code:below']);
    });

    it('answers 400 too-costly when the codes exceed CONCORDIA_TERMINOLOGY_SEARCH_MAX_CODES', async () => {
      const response = await search(small, `code:below=${encodeURIComponent(`${ICD10}|J45`)}`);
      expect(response.statusCode, response.body).toBe(400);
      expect(at(json(response.body), 'issue', 0, 'code')).toBe('too-costly');
      const narrow = await search(small, `code:below=${encodeURIComponent(`${ICD10}|J45.0`)}`);
      expect(narrow.statusCode, narrow.body).toBe(200);
    });

    it('answers 400 naming the parameter for a value set that is not known', async () => {
      const response = await search(
        t,
        `code:in=${encodeURIComponent('https://concordia.example/ValueSet/none')}`,
      );
      expect(response.statusCode, response.body).toBe(400);
      expect(at(json(response.body), 'issue', 0, 'expression')).toEqual(['code:in']);
    });
  });
}
