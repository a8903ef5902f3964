/**
 * Composite search parameters over HTTP (http://hl7.org/fhir/R4/search.html#composite) against
 * `search_composite` (migration 0003), on every configured database. The resources are the
 * spec's own examples where one exists (Observation blood-pressure and bloodgroup, MolecularSequence
 * graphic-example-4), each pointed at this file's patient so the searches see only them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSharedData } from '../../../fhir/test/support/shared-data.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, json, patient, type TestApp } from '../support/test-app.ts';
import { createResource, list, matchIds, outcomeIssues, searchBundle } from './search-helpers.ts';

const EXAMPLES = requireSharedData('fhir-r4-examples/resources');
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

/** A spec example without its id and meta, about `subject` instead of its own patient. */
function example(file: string, subject: string): FhirResource {
  const {
    id: _id,
    meta: _meta,
    ...resource
  }: FhirResource = JSON.parse(readFileSync(join(EXAMPLES ?? '', file), 'utf8'));
  return 'subject' in resource ? { ...resource, subject: { reference: subject } } : resource;
}

for (const database of testDatabases()) {
  describe.skipIf(EXAMPLES === null)(`FHIR composite search on ${database.name}`, () => {
    let t: TestApp;
    let subject: string;
    /** observation-example-bloodpressure: systolic 8480-6 = 107 mm[Hg], diastolic 8462-4 = 60. */
    let bloodPressure: string;
    /** A second panel, systolic 150 and diastolic 95. */
    let highPressure: string;
    /** observation-example-bloodgroup: 883-9 = SNOMED 112144000 (blood group A). */
    let bloodGroup: string;
    let dated: string;
    let texted: string;
    let sequence: string;
    beforeAll(async () => {
      t = await createTestApp(database);
      subject = `Patient/${await createResource(t, patient({ family: 'Composite' }))}`;
      bloodPressure = await createResource(t, example('Observation-blood-pressure.json', subject));
      const panel = example('Observation-blood-pressure.json', subject);
      highPressure = await createResource(t, {
        ...panel,
        component: list(panel.component).map((component, position) =>
          Object.assign({}, component, {
            valueQuantity: { value: position === 0 ? 150 : 95, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' },
          }),
        ),
      });
      bloodGroup = await createResource(t, example('Observation-bloodgroup.json', subject));
      dated = await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        subject: { reference: subject },
        code: { coding: [{ system: LOINC, code: '21112-8' }] },
        valueDateTime: '2021-06-15T08:30:00Z',
      });
      texted = await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        subject: { reference: subject },
        code: { coding: [{ system: LOINC, code: '8302-2' }] },
        valueString: 'Größer als $5 Fuß',
      });
      sequence = await createResource(t, {
        ...example('MolecularSequence-graphic-example-4.json', subject),
        patient: { reference: subject },
      });
    });
    afterAll(async () => {
      await t?.close();
    });

    const observations = async (query: string) =>
      matchIds(await searchBundle(t, `/fhir/Observation?subject=${subject}&${query}&_sort=_id`));
    const sorted = (...ids: string[]) => [...ids].sort();
    const strict = (url: string) =>
      t.app.inject({ method: 'GET', url, headers: { prefer: 'handling=strict' } });

    it('pairs a code with the value of the same component only (search.html#composite)', async () => {
      const systolic = `component-code-value-quantity=${LOINC}|8480-6`;
      expect(await observations(`${systolic}$gt100`)).toEqual(sorted(bloodPressure, highPressure));
      // The 60 of the first panel is the diastolic component's: systolic below 100 matches nothing.
      expect(await observations(`${systolic}$lt100`)).toEqual([]);
      expect(await observations(`${systolic}$107`)).toEqual([bloodPressure]);
      expect(await observations(`component-code-value-quantity=8462-4$lt70`)).toEqual([bloodPressure]);
      expect(await observations(`component-code-value-quantity=8462-4$107`)).toEqual([]);
    });

    it('reads prefixes and units of the quantity component, in canonical UCUM units (search.html#quantity)', async () => {
      const systolic = `component-code-value-quantity=${LOINC}|8480-6`;
      expect(await observations(`${systolic}$ge107|${UCUM}|mm[Hg]`)).toEqual(
        sorted(bloodPressure, highPressure),
      );
      // 107 mm[Hg] is 14.27 kPa; 150 mm[Hg] is 20.0 kPa.
      expect(await observations(`${systolic}$lt15|${UCUM}|kPa`)).toEqual([bloodPressure]);
      expect(await observations(`${systolic}$ge15|${UCUM}|kPa`)).toEqual([highPressure]);
      expect(await observations(`${systolic}$107||mm[Hg]`)).toEqual([bloodPressure]);
      expect(await observations(`${systolic}$107|${UCUM}|mg`)).toEqual([]);
    });

    it('ORs comma-separated values and ANDs repeated parameters (search.html#combining)', async () => {
      const systolicLow = `${LOINC}|8480-6$lt120`;
      const diastolicHigh = `${LOINC}|8462-4$gt90`;
      expect(await observations(`component-code-value-quantity=${systolicLow},${diastolicHigh}`)).toEqual(
        sorted(bloodPressure, highPressure),
      );
      expect(
        await observations(
          `component-code-value-quantity=8480-6$gt140&component-code-value-quantity=8462-4$gt90`,
        ),
      ).toEqual([highPressure]);
      expect(
        await observations(
          `component-code-value-quantity=8480-6$gt140&component-code-value-quantity=8462-4$lt90`,
        ),
      ).toEqual([]);
    });

    it('searches the Observation and its components together with combo- (search.html#composite)', async () => {
      expect(await observations(`combo-code-value-quantity=8480-6$150`)).toEqual([highPressure]);
      expect(
        await observations(`combo-code-value-concept=${LOINC}|883-9$http://snomed.info/sct|112144000`),
      ).toEqual([bloodGroup]);
      // The panel's own code 85354-9 has no value of its own.
      expect(await observations(`combo-code-value-quantity=85354-9$gt0`)).toEqual([]);
    });

    it('matches concept, date and string values of code-value-* (search.html#composite)', async () => {
      const group = `code-value-concept=${LOINC}|883-9`;
      expect(await observations(`${group}$http://snomed.info/sct|112144000`)).toEqual([bloodGroup]);
      expect(await observations(`${group}$112144000`)).toEqual([bloodGroup]);
      expect(await observations(`${group}$http://snomed.info/sct|278149003`)).toEqual([]);
      expect(await observations(`code-value-date=21112-8$2021-06`)).toEqual([dated]);
      expect(await observations(`code-value-date=21112-8$gt2021-06-15T09:00:00Z`)).toEqual([]);
      expect(await observations(`code-value-date=21112-8$lt2022`)).toEqual([dated]);
      const string = (value: string) => observations(`code-value-string=${encodeURIComponent(value)}`);
      expect(await string('8302-2$grosser')).toEqual([]);
      expect(await string('8302-2$GROß')).toEqual([texted]);
      // `\$` is a literal dollar inside a component (search.html#escaping).
      expect(await string('8302-2$größer als \\$5')).toEqual([texted]);
      expect(await string('8302-2$größer als \\$6')).toEqual([]);
    });

    it('matches the three components of MolecularSequence coordinates (molecularsequence.html#search)', async () => {
      // graphic-example-4: chromosome 2, window 128273736..128273740.
      const search = async (query: string) =>
        matchIds(await searchBundle(t, `/fhir/MolecularSequence?patient=${subject}&${query}`));
      expect(await search('chromosome-window-coordinate=2$lt128273740$gt128273736')).toEqual([sequence]);
      expect(await search('chromosome-window-coordinate=2$128273736$128273740')).toEqual([sequence]);
      expect(await search('chromosome-window-coordinate=3$lt128273740$gt128273736')).toEqual([]);
      expect(await search('chromosome-window-coordinate=2$gt128273736$gt128273736')).toEqual([]);
    });

    it('answers :missing on composite parameters (search.html#modifiers)', async () => {
      const withQuantities = sorted(bloodPressure, highPressure);
      expect(await observations('component-code-value-quantity:missing=false')).toEqual(withQuantities);
      expect(await observations('component-code-value-quantity:missing=true')).toEqual(
        sorted(bloodGroup, dated, texted),
      );
    });

    it('refuses malformed composite values and unsearchable composites under strict handling (search.html#errors)', async () => {
      for (const query of [
        'component-code-value-quantity=8480-6',
        'component-code-value-quantity=8480-6$1$2',
        'component-code-value-quantity=8480-6$abc',
        'component-code-value-quantity:exact=8480-6$1',
      ]) {
        const response = await strict(`/fhir/Observation?${query}`);
        expect(response.statusCode, `${query}: ${response.body}`).toBe(400);
      }
      // R4 pairs `relationship`'s components with each other's expressions (the reference
      // parameter on `code`): reported as not supported, never silently empty.
      const relationship = await searchBundle(
        t,
        '/fhir/DocumentReference?relationship=appends$DocumentReference/1',
      );
      expect(matchIds(relationship)).toEqual([]);
      expect(outcomeIssues(relationship).map((issue) => at(issue, 'code'))).toEqual(['not-supported']);
    });

    it('lists the searchable composite parameters in the CapabilityStatement (http.html#capabilities)', async () => {
      const statement = json((await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).body);
      const names = (type: string) =>
        list(
          at(
            list(at(statement, 'rest', 0, 'resource')).find((resource) => at(resource, 'type') === type),
            'searchParam',
          ),
        ).map((parameter) => at(parameter, 'name'));
      expect(names('Observation')).toEqual(
        expect.arrayContaining([
          'code-value-quantity',
          'code-value-concept',
          'code-value-date',
          'code-value-string',
          'component-code-value-quantity',
          'component-code-value-concept',
          'combo-code-value-quantity',
          'combo-code-value-concept',
        ]),
      );
      expect(names('MolecularSequence')).toEqual(expect.arrayContaining(['chromosome-window-coordinate']));
      expect(names('Group')).toContain('characteristic-value');
      expect(names('DocumentReference')).not.toContain('relationship');
    });
  });
}
