/**
 * Modifiers that search another element than the parameter's value, over HTTP
 * (http://hl7.org/fhir/R4/search.html#modifiers, #reference): token `:text` and `:of-type`,
 * reference `:identifier`, and `:missing` unchanged beside them, on every configured database.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { createResource, matchIds, searchBundle, uniqueName } from './search-helpers.ts';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const NATIONAL_ID = 'urn:oid:2.16.756.5.32';

for (const database of testDatabases()) {
  describe(`FHIR search modifiers :text, :of-type and :identifier on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    const ids = async (url: string) => matchIds(await searchBundle(t, url)).sort();

    it('matches :text against CodeableConcept.text and Coding.display, case- and accent-insensitive starts-with (search.html#modifiers)', async () => {
      const word = uniqueName('Tensión');
      const category = uniqueName('cat');
      const observation = (code: Record<string, unknown>): FhirResource => ({
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ system: 'http://concordia.example/category', code: category }] }],
        code,
      });
      const byText = await createResource(
        t,
        observation({
          text: `${word} artérielle`,
          coding: [{ system: 'http://loinc.org', code: '85354-9' }],
        }),
      );
      const byDisplay = await createResource(
        t,
        observation({
          coding: [{ system: 'http://loinc.org', code: '8867-4', display: `${word} Heart rate` }],
        }),
      );
      const neither = await createResource(
        t,
        observation({ coding: [{ system: 'http://loinc.org', code: `${word}-code` }] }),
      );
      const search = (text: string) =>
        ids(`/fhir/Observation?category=${category}&code:text=${encodeURIComponent(text)}`);
      const folded = word.toLowerCase().replace('ó', 'o');
      expect(await search(`${folded} ARTERIELLE`)).toEqual([byText]);
      expect(await search(word)).toEqual([byDisplay, byText].sort());
      expect(await search(`${word} heart`)).toEqual([byDisplay]);
      // Starts-with, like string search: a word in the middle does not match.
      expect(await search('artérielle')).toEqual([]);
      // The code itself is not text.
      expect(await search(`${word}-code`)).toEqual([]);
      expect(await ids(`/fhir/Observation?category=${category}&code=${word}-code`)).toEqual([neither]);
    });

    it('matches :of-type by Identifier.type coding and value, and not an identifier of another type (search.html#modifiers)', async () => {
      const value = uniqueName('ID');
      const identified = (type?: Record<string, unknown>): FhirResource => ({
        resourceType: 'Patient',
        identifier: [{ ...(type ? { type } : {}), system: 'http://hospital.example/ids', value }],
      });
      const medicalRecord = await createResource(
        t,
        identified({ coding: [{ system: V2_0203, code: 'MR' }], text: 'Medical record number' }),
      );
      const driversLicense = await createResource(
        t,
        identified({ coding: [{ system: V2_0203, code: 'DL' }] }),
      );
      const untyped = await createResource(t, identified());
      const ofType = (query: string) => ids(`/fhir/Patient?identifier:of-type=${encodeURIComponent(query)}`);
      expect(await ofType(`${V2_0203}|MR|${value}`)).toEqual([medicalRecord]);
      expect(await ofType(`${V2_0203}|DL|${value}`)).toEqual([driversLicense]);
      expect(await ofType(`${V2_0203}|MR|${value}-other`)).toEqual([]);
      expect(await ofType(`http://other.example/types|MR|${value}`)).toEqual([]);
      expect(await ofType(`${V2_0203}|MR|${value},${V2_0203}|DL|${value}`)).toEqual(
        [medicalRecord, driversLicense].sort(),
      );
      // The plain parameter still matches every identifier, typed or not.
      expect(await ids(`/fhir/Patient?identifier=${value}`)).toEqual(
        [medicalRecord, driversLicense, untyped].sort(),
      );
      // Identifier.type.text is :text of the identifier parameter.
      expect(await ids(`/fhir/Patient?identifier=${value}&identifier:text=medical%20rec`)).toEqual([
        medicalRecord,
      ]);
    });

    it('matches :identifier against Reference.identifier, logical or alongside a literal reference (search.html#reference)', async () => {
      const value = uniqueName('756');
      const logical = await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'weight' },
        subject: { identifier: { system: NATIONAL_ID, value } },
      });
      const both = await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'weight' },
        subject: { reference: 'Patient/someone', identifier: { system: 'http://other.example/ids', value } },
      });
      const search = (query: string) =>
        ids(`/fhir/Observation?subject:identifier=${encodeURIComponent(query)}`);
      expect(await search(`${NATIONAL_ID}|${value}`)).toEqual([logical]);
      expect(await search(value)).toEqual([both, logical].sort());
      expect(await search(`http://other.example/ids|${value}`)).toEqual([both]);
      expect(await search(`|${value}`)).toEqual([]);
      expect(await search(`${NATIONAL_ID}|${value}-other`)).toEqual([]);
      // The literal reference is searched as before, the identifier does not stand in for it.
      expect(await ids(`/fhir/Observation?subject=Patient/someone&subject:identifier=${value}`)).toEqual([
        both,
      ]);
    });

    it('keeps :missing on the parameter itself: the rows of :text and :identifier do not count (search.html#missing)', async () => {
      const value = uniqueName('logical');
      const textOnly = await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: value },
        subject: { identifier: { system: NATIONAL_ID, value } },
      });
      const coded = await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: value, coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
        subject: { reference: 'Patient/someone', identifier: { system: NATIONAL_ID, value } },
      });
      const scope = `/fhir/Observation?subject:identifier=${value}`;
      expect(await ids(`${scope}&code:missing=true`)).toEqual([textOnly]);
      expect(await ids(`${scope}&code:missing=false`)).toEqual([coded]);
      expect(await ids(`${scope}&subject:missing=true`)).toEqual([textOnly]);
      expect(await ids(`${scope}&code:text=${value}`)).toEqual([coded, textOnly].sort());
    });

    it('accepts the modifiers under strict handling (search.html#errors)', async () => {
      for (const query of [
        'code:text=x',
        `subject:identifier=${NATIONAL_ID}|1`,
        `identifier:of-type=${V2_0203}|MR|1`,
      ]) {
        const resource = query.startsWith('identifier') ? 'Patient' : 'Observation';
        const response = await t.app.inject({
          method: 'GET',
          url: `/fhir/${resource}?${query}`,
          headers: { prefer: 'handling=strict' },
        });
        expect(response.statusCode, `${query}: ${response.body}`).toBe(200);
      }
      const malformed = await t.app.inject({
        method: 'GET',
        url: `/fhir/Patient?identifier:of-type=MR|1`,
        headers: { prefer: 'handling=strict' },
      });
      expect(malformed.statusCode).toBe(400);
    });
  });
}
