/**
 * Search over HTTP (http://hl7.org/fhir/R4/search.html) on every configured database: parameter
 * types and modifiers, AND/OR, chaining, _has, _include/_revinclude, compartments, POST _search,
 * _summary=count, _total and error handling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, json, observation, patient, type TestApp } from '../support/test-app.ts';
import {
  createResource,
  idsWithMode,
  list,
  matchIds,
  outcomeIssues,
  searchBundle,
  uniqueName,
} from './search-helpers.ts';

for (const database of testDatabases()) {
  describe(`FHIR search on ${database.name}`, () => {
    let t: TestApp;
    let family: string;
    let anna: string;
    let maria: string;
    let annaPulse: string;
    let annaWeight: string;
    let mariaPulse: string;
    beforeAll(async () => {
      t = await createTestApp(database);
      family = uniqueName('Search');
      anna = await createResource(t, patient({ family, given: 'Anna', identifier: `${family}-1` }));
      maria = await createResource(
        t,
        patient({ family: `${family}ová`, given: 'Maria', identifier: `${family}-2` }),
      );
      annaPulse = await createResource(t, observation(`Patient/${anna}`, '8867-4'));
      annaWeight = await createResource(t, observation(`Patient/${anna}`, '29463-7'));
      mariaPulse = await createResource(t, observation(`Patient/${maria}`, '8867-4'));
    });
    afterAll(async () => {
      await t?.close();
    });

    it('matches string parameters by case- and accent-insensitive prefix, :exact and :contains (search.html#string)', async () => {
      expect(matchIds(await searchBundle(t, `/fhir/Patient?family=${family.toUpperCase()}`)).sort()).toEqual(
        [anna, maria].sort(),
      );
      expect(matchIds(await searchBundle(t, `/fhir/Patient?family:exact=${family}`))).toEqual([anna]);
      const middle = family.slice(3);
      expect(matchIds(await searchBundle(t, `/fhir/Patient?family:contains=${middle}&given=ann`))).toEqual([
        anna,
      ]);
    });

    it('matches token forms system|code, code, |code and :not (search.html#token)', async () => {
      const bySystem = await searchBundle(
        t,
        `/fhir/Observation?subject=Patient/${anna}&code=http://loinc.org|8867-4`,
      );
      expect(matchIds(bySystem)).toEqual([annaPulse]);
      const byCode = await searchBundle(t, `/fhir/Observation?subject=Patient/${anna}&code=29463-7`);
      expect(matchIds(byCode)).toEqual([annaWeight]);
      const noSystem = await searchBundle(t, `/fhir/Observation?subject=Patient/${anna}&code=|8867-4`);
      expect(matchIds(noSystem)).toEqual([]);
      const not = await searchBundle(t, `/fhir/Observation?subject=Patient/${anna}&code:not=8867-4`);
      expect(matchIds(not)).toEqual([annaWeight]);
    });

    it('ORs comma-separated values and ANDs repeated parameters (search.html#combining)', async () => {
      const either = await searchBundle(t, `/fhir/Patient?identifier=${family}-1,${family}-2`);
      expect(matchIds(either).sort()).toEqual([anna, maria].sort());
      const both = await searchBundle(t, `/fhir/Patient?identifier=${family}-1&identifier=${family}-2`);
      expect(matchIds(both)).toEqual([]);
    });

    it('matches references as Type/id, id, :Type and absolute URL (search.html#reference)', async () => {
      for (const value of [`Patient/${maria}`, maria, `http://fhir.test/fhir/Patient/${maria}`]) {
        expect(
          matchIds(await searchBundle(t, `/fhir/Observation?subject=${encodeURIComponent(value)}`)),
        ).toEqual([mariaPulse]);
      }
      expect(matchIds(await searchBundle(t, `/fhir/Observation?subject:Patient=${maria}`))).toEqual([
        mariaPulse,
      ]);
    });

    it('supports _id, :missing and _lastUpdated (search.html#id, #missing, #lastUpdated)', async () => {
      expect(matchIds(await searchBundle(t, `/fhir/Patient?_id=${anna},${maria}&given=maria`))).toEqual([
        maria,
      ]);
      const noCode = await searchBundle(t, `/fhir/Observation?subject=Patient/${anna}&code:missing=true`);
      expect(matchIds(noCode)).toEqual([]);
      const hasSubject = await searchBundle(t, `/fhir/Observation?_id=${annaPulse}&subject:missing=false`);
      expect(matchIds(hasSubject)).toEqual([annaPulse]);
      const recent = await searchBundle(t, `/fhir/Patient?_id=${anna}&_lastUpdated=gt2020-01-01`);
      expect(matchIds(recent)).toEqual([anna]);
      const old = await searchBundle(t, `/fhir/Patient?_id=${anna}&_lastUpdated=lt2020-01-01T00:00:00Z`);
      expect(matchIds(old)).toEqual([]);
    });

    it('follows chained parameters (search.html#chaining)', async () => {
      const chained = await searchBundle(
        t,
        `/fhir/Observation?subject:Patient.given=maria&subject.family=${family}`,
      );
      expect(matchIds(chained)).toEqual([mariaPulse]);
    });

    it('follows reverse chains with _has (search.html#has)', async () => {
      const has = await searchBundle(
        t,
        `/fhir/Patient?family=${family}&_has:Observation:subject:code=29463-7`,
      );
      expect(matchIds(has)).toEqual([anna]);
    });

    it('adds _include and _revinclude resources with search.mode include (search.html#include)', async () => {
      const included = await searchBundle(
        t,
        `/fhir/Observation?_id=${mariaPulse}&_include=Observation:subject`,
      );
      expect(idsWithMode(included, 'match')).toEqual([`Observation/${mariaPulse}`]);
      expect(idsWithMode(included, 'include')).toEqual([`Patient/${maria}`]);
      const reverse = await searchBundle(t, `/fhir/Patient?_id=${anna}&_revinclude=Observation:subject`);
      expect(idsWithMode(reverse, 'include').sort()).toEqual(
        [`Observation/${annaPulse}`, `Observation/${annaWeight}`].sort(),
      );
    });

    it('searches a Patient compartment (search.html#compartments)', async () => {
      const bundle = await searchBundle(t, `/fhir/Patient/${anna}/Observation?code=8867-4`);
      expect(matchIds(bundle)).toEqual([annaPulse]);
      expect(at(bundle, 'link', 0, 'url')).toBe(
        `http://fhir.test/fhir/Patient/${anna}/Observation?code=8867-4`,
      );
    });

    it('accepts POST [type]/_search with a form body merged with the URL (http.html#search)', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: `/fhir/Patient/_search?family=${family}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'given=maria',
      });
      expect(response.statusCode).toBe(200);
      expect(matchIds(json(response.body))).toEqual([maria]);
    });

    it('searches the system with _type (search.html#searchsystem)', async () => {
      const bundle = await searchBundle(t, `/fhir?_type=Patient,Observation&_id=${anna},${annaPulse}`);
      expect(idsWithMode(bundle, 'match').sort()).toEqual(
        [`Observation/${annaPulse}`, `Patient/${anna}`].sort(),
      );
    });

    it('answers _summary=count with a total and no entries, and _total=accurate (search.html#summary, #total)', async () => {
      const count = await searchBundle(t, `/fhir/Observation?subject=Patient/${anna}&_summary=count`);
      expect(count.total).toBe(2);
      expect(count.entry).toBeUndefined();
      const total = await searchBundle(
        t,
        `/fhir/Observation?subject=Patient/${anna}&_total=accurate&_count=1`,
      );
      expect(total.total).toBe(2);
      expect(matchIds(total)).toHaveLength(1);
      const none = await searchBundle(t, `/fhir/Observation?subject=Patient/${anna}`);
      expect(none.total).toBeUndefined();
    });

    it('shapes entries with _elements (search.html#elements)', async () => {
      const bundle = await searchBundle(t, `/fhir/Patient?_id=${anna}&_elements=gender`);
      expect(at(bundle, 'entry', 0, 'resource', 'gender')).toBe('female');
      expect(at(bundle, 'entry', 0, 'resource', 'name')).toBeUndefined();
    });

    it('reports unknown parameters in an outcome entry when lenient (search.html#errors)', async () => {
      const bundle = await searchBundle(t, `/fhir/Patient?_id=${anna}&shoe-size=42`);
      expect(matchIds(bundle)).toEqual([anna]);
      expect(outcomeIssues(bundle)).toEqual([
        expect.objectContaining({ severity: 'warning', expression: ['shoe-size'] }),
      ]);
    });

    it('answers 400 naming the parameter under Prefer: handling=strict (search.html#errors)', async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/fhir/Patient?_id=${anna}&shoe-size=42`,
        headers: { prefer: 'handling=strict' },
      });
      expect(response.statusCode).toBe(400);
      expect(at(json(response.body), 'issue', 0, 'expression')).toEqual(['shoe-size']);
    });

    it('lists search interactions and supported parameters in the CapabilityStatement', async () => {
      const statement = json((await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).body);
      const patientRest = list(at(statement, 'rest', 0, 'resource')).find(
        (resource) => at(resource, 'type') === 'Patient',
      );
      const names = list(at(patientRest, 'searchParam')).map((parameter) => at(parameter, 'name'));
      expect(names).toEqual(expect.arrayContaining(['_id', '_lastUpdated', 'family', 'identifier']));
      const interactions = list(at(patientRest, 'interaction')).map((i) => at(i, 'code'));
      expect(interactions).toContain('search-type');
    });
  });
}
