/**
 * Full-text search (`_text`, `_content`), `_list`, `_include=*` across source types, the include
 * cap and `_total=estimate` over HTTP (http://hl7.org/fhir/R4/search.html#text, #content, #list,
 * #include, #total), on every configured database.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, FHIR_JSON, observation, patient, type TestApp } from '../support/test-app.ts';
import { createResource, idsWithMode, matchIds, outcomeIssues, searchBundle } from './search-helpers.ts';

const XHTML = 'xmlns="http://www.w3.org/1999/xhtml"';

function condition(subject: string, div: string, note?: string): FhirResource {
  return {
    resourceType: 'Condition',
    text: { status: 'generated', div: `<div ${XHTML}>${div}</div>` },
    subject: { reference: subject },
    code: { text: 'Finding' },
    ...(note !== undefined ? { note: [{ text: note }] } : {}),
  };
}

function listOf(items: string[], extra: Partial<FhirResource> = {}): FhirResource {
  return {
    resourceType: 'List',
    status: 'current',
    mode: 'working',
    entry: items.map((reference) => ({ item: { reference } })),
    ...extra,
  };
}

function allergy(patientId: string, substance: string): FhirResource {
  return {
    resourceType: 'AllergyIntolerance',
    // ait-1: a clinical or verification status is required (allergyintolerance.html#invs).
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
      ],
    },
    patient: { reference: `Patient/${patientId}` },
    code: { text: substance },
  };
}

const ALLERGIES_CODE = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-example-use-codes', code: 'allergies' }],
};

async function strictStatus(t: TestApp, url: string): Promise<number> {
  const response = await t.app.inject({ method: 'GET', url, headers: { prefer: 'handling=strict' } });
  return response.statusCode;
}

const sorted = (ids: string[]) => [...ids].sort();

for (const database of testDatabases()) {
  describe(`Full text, lists, includes and totals on ${database.name}`, () => {
    let t: TestApp;
    let subject: string;
    let bone: string;
    let liver: string;
    let lung: string;
    beforeAll(async () => {
      t = await createTestApp(database);
      subject = await createResource(t, patient({ family: 'Tkachenko' }));
      bone = await createResource(
        t,
        condition(`Patient/${subject}`, '<p>Bone <b>meta</b>stases &amp; pain, seen at the Café</p>'),
      );
      liver = await createResource(
        t,
        condition(`Patient/${subject}`, '<table><tr><td>Liver</td><td>metastases</td></tr></table>'),
      );
      lung = await createResource(
        t,
        condition(`Patient/${subject}`, '<p>Lung nodule</p>', 'Metastases suspected; ÉCHO planned'),
      );
    });
    afterAll(async () => {
      await t?.close();
    });

    it('searches the narrative without its markup, entities decoded (search.html#text)', async () => {
      const text = async (query: string) =>
        sorted(matchIds(await searchBundle(t, `/fhir/Condition?_text=${encodeURIComponent(query)}`)));
      expect(await text('metastases')).toEqual(sorted([bone, liver]));
      // `<b>meta</b>stases` reads as one word; tag names, attributes and entity names are not text.
      expect(await text('meta')).toEqual([]);
      expect(await text('div')).toEqual([]);
      expect(await text('xhtml')).toEqual([]);
      expect(await text('amp')).toEqual([]);
      // Table cells are separate words.
      expect(await text('liver')).toEqual([liver]);
    });

    it('folds case and accents in the text and in the query (search.html#text)', async () => {
      for (const query of ['CAFE', 'café', 'Cafe']) {
        const bundle = await searchBundle(t, `/fhir/Condition?_text=${encodeURIComponent(query)}`);
        expect(matchIds(bundle)).toEqual([bone]);
      }
      const echo = await searchBundle(t, `/fhir/Condition?_content=echo`);
      expect(matchIds(echo)).toEqual([lung]);
    });

    it('ANDs words, ORs OR and commas, groups parentheses, matches phrases and prefixes (search.html#text)', async () => {
      const text = async (query: string) =>
        sorted(matchIds(await searchBundle(t, `/fhir/Condition?_text=${encodeURIComponent(query)}`)));
      expect(await text('metastases bone')).toEqual([bone]);
      expect(await text('bone OR liver')).toEqual(sorted([bone, liver]));
      expect(await text('(bone OR liver) and metastases')).toEqual(sorted([bone, liver]));
      expect(await text('(bone OR lung) AND metastases')).toEqual([bone]);
      expect(await text('bone,liver')).toEqual(sorted([bone, liver]));
      expect(await text('"liver metastases"')).toEqual([liver]);
      expect(await text('"metastases liver"')).toEqual([]);
      expect(await text('metast*')).toEqual(sorted([bone, liver]));
      const repeated = await searchBundle(t, '/fhir/Condition?_text=bone&_text=liver');
      expect(matchIds(repeated)).toEqual([]);
    });

    it('searches every string of the resource with _content, narrative included (search.html#content)', async () => {
      const content = async (query: string) =>
        sorted(matchIds(await searchBundle(t, `/fhir/Condition?_content=${encodeURIComponent(query)}`)));
      expect(await content('metastases')).toEqual(sorted([bone, liver, lung]));
      expect(await content('suspected')).toEqual([lung]);
      expect(await content('finding nodule')).toEqual([lung]);
      // _text does not read notes.
      const text = await searchBundle(t, '/fhir/Condition?_text=suspected');
      expect(matchIds(text)).toEqual([]);
    });

    it('refuses text queries it cannot read, naming the parameter (search.html#errors)', async () => {
      for (const query of ['NOT bone', '-bone', '(bone', 'bone)', 'bone OR', '"bone', '***']) {
        expect(await strictStatus(t, `/fhir/Condition?_text=${encodeURIComponent(query)}`), query).toBe(400);
      }
      const lenient = await searchBundle(t, `/fhir/Condition?_text=${encodeURIComponent('(bone')}`);
      expect(outcomeIssues(lenient)).toEqual([expect.objectContaining({ expression: ['_text'] })]);
    });

    it('matches the items of a List by id, of the searched type only, and nothing of a deleted List (search.html#list)', async () => {
      const other = await createResource(t, patient({ family: 'Melnyk' }));
      const outsider = await createResource(t, patient({ family: 'Shevchuk' }));
      const pulse = await createResource(t, observation(`Patient/${subject}`));
      const list = await createResource(
        t,
        listOf([`Patient/${subject}`, `Patient/${other}`, `Observation/${pulse}`, `Condition/${bone}`]),
      );
      const deleted = await createResource(t, listOf([`Patient/${outsider}`]));
      expect((await t.app.inject({ method: 'DELETE', url: `/fhir/List/${deleted}` })).statusCode).toBe(204);

      expect(sorted(matchIds(await searchBundle(t, `/fhir/Patient?_list=${list}`)))).toEqual(
        sorted([subject, other]),
      );
      expect(matchIds(await searchBundle(t, `/fhir/Observation?_list=${list}`))).toEqual([pulse]);
      expect(matchIds(await searchBundle(t, `/fhir/Condition?_list=${list}&_text=bone`))).toEqual([bone]);
      expect(matchIds(await searchBundle(t, `/fhir/Patient?_list=${deleted}`))).toEqual([]);
      // A system search takes _list too: every item, whatever its type.
      expect(sorted(idsWithMode(await searchBundle(t, `/fhir?_list=${list}`), 'match'))).toEqual(
        sorted([`Patient/${subject}`, `Patient/${other}`, `Observation/${pulse}`, `Condition/${bone}`]),
      );
      expect(sorted(matchIds(await searchBundle(t, `/fhir/Patient?_list=${deleted},${list}`)))).toEqual(
        sorted([subject, other]),
      );
      expect(await strictStatus(t, '/fhir/Patient?_list=not%20an%20id')).toBe(400);
    });

    it("answers $current-allergies from the patient's current allergies List (search.html#list, lifecycle.html#lists)", async () => {
      const owner = await createResource(t, patient({ family: 'Bondar' }));
      const peanut = await createResource(t, allergy(owner, 'peanut'));
      const penicillin = await createResource(t, allergy(owner, 'penicillin'));
      const latex = await createResource(t, allergy(owner, 'latex'));
      await createResource(
        t,
        listOf([`AllergyIntolerance/${peanut}`, `AllergyIntolerance/${penicillin}`], {
          code: ALLERGIES_CODE,
          subject: { reference: `Patient/${owner}` },
        }),
      );
      // Not current, so not the functional list.
      await createResource(
        t,
        listOf([`AllergyIntolerance/${latex}`], {
          status: 'retired',
          code: ALLERGIES_CODE,
          subject: { reference: `Patient/${owner}` },
        }),
      );
      const expected = sorted([peanut, penicillin]);
      const inCompartment = await searchBundle(
        t,
        `/fhir/Patient/${owner}/AllergyIntolerance?_list=$current-allergies`,
      );
      expect(sorted(matchIds(inCompartment))).toEqual(expected);
      const byPatient = await searchBundle(
        t,
        `/fhir/AllergyIntolerance?patient=${owner}&_list=$current-allergies`,
      );
      expect(sorted(matchIds(byPatient))).toEqual(expected);
      const ofSomeoneElse = await searchBundle(
        t,
        `/fhir/Patient/${subject}/AllergyIntolerance?_list=$current-allergies`,
      );
      expect(matchIds(ofSomeoneElse)).toEqual([]);
      // Without a patient there is no functional list to read; an unknown one is not supported.
      expect(await strictStatus(t, '/fhir/AllergyIntolerance?_list=$current-allergies')).toBe(400);
      expect(await strictStatus(t, `/fhir/Patient/${owner}/AllergyIntolerance?_list=$current-drugs`)).toBe(
        400,
      );
    });

    it('follows every reference parameter with _include=*, and keeps following with :iterate (search.html#include)', async () => {
      const clinic = await createResource(t, { resourceType: 'Organization', name: 'Clinic' });
      const person = await createResource(t, {
        ...patient({ family: 'Hnatiuk' }),
        managingOrganization: { reference: `Organization/${clinic}` },
      });
      const doctor = await createResource(t, { resourceType: 'Practitioner', name: [{ family: 'Lysenko' }] });
      const reading = await createResource(t, {
        ...observation(`Patient/${person}`),
        performer: [{ reference: `Practitioner/${doctor}` }],
      });

      const once = await searchBundle(t, `/fhir/Observation?_id=${reading}&_include=*`);
      expect(idsWithMode(once, 'match')).toEqual([`Observation/${reading}`]);
      expect(sorted(idsWithMode(once, 'include'))).toEqual(
        sorted([`Patient/${person}`, `Practitioner/${doctor}`]),
      );
      const iterated = await searchBundle(t, `/fhir/Observation?_id=${reading}&_include:iterate=*`);
      expect(sorted(idsWithMode(iterated, 'include'))).toEqual(
        sorted([`Patient/${person}`, `Practitioner/${doctor}`, `Organization/${clinic}`]),
      );
      // Across source types: the matches are of two types, each followed by its own parameters.
      const system = await searchBundle(
        t,
        `/fhir?_type=Observation,Patient&_id=${reading},${person}&_include=*`,
      );
      expect(sorted(idsWithMode(system, 'include'))).toEqual(
        sorted([`Practitioner/${doctor}`, `Organization/${clinic}`]),
      );
      const reverse = await searchBundle(t, `/fhir/Practitioner?_id=${doctor}&_revinclude=*`);
      expect(idsWithMode(reverse, 'include')).toEqual([`Observation/${reading}`]);
    });

    it('answers _total=estimate exactly for a small result (search.html#total)', async () => {
      const bundle = await searchBundle(t, `/fhir/Condition?subject=Patient/${subject}&_total=estimate`);
      expect(bundle.total).toBe(3);
      const count = await searchBundle(
        t,
        `/fhir/Condition?subject=Patient/${subject}&_summary=count&_total=estimate`,
      );
      expect(count.total).toBe(3);
    });

    it('answers _total=estimate with a non-negative integer for a larger result (search.html#total)', async () => {
      const entries = Array.from({ length: 1100 }, () => ({
        resource: { resourceType: 'Basic', code: { text: 'estimate' } },
        request: { method: 'POST', url: 'Basic' },
      }));
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: { resourceType: 'Bundle', type: 'transaction', entry: entries },
      });
      expect(response.statusCode).toBe(200);
      await t.store.refreshStatistics();
      const bundle = await searchBundle(t, '/fhir/Basic?_total=estimate&_count=1');
      expect(Number.isInteger(bundle.total)).toBe(true);
      expect(bundle.total).toBeGreaterThanOrEqual(0);
      const accurate = await searchBundle(t, '/fhir/Basic?_total=accurate&_count=1');
      expect(accurate.total).toBe(1100);
    });
  });

  describe(`The include cap on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database, { CONCORDIA_MAX_INCLUDES: '2' });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('includes at most CONCORDIA_MAX_INCLUDES resources and says so in an outcome entry (search.html#include)', async () => {
      const person = await createResource(t, patient({ family: 'Savchenko' }));
      const readings: string[] = [];
      for (const code of ['8867-4', '29463-7', '8310-5']) {
        readings.push(await createResource(t, observation(`Patient/${person}`, code)));
      }
      const bundle = await searchBundle(t, `/fhir/Patient?_id=${person}&_revinclude=Observation:subject`);
      expect(idsWithMode(bundle, 'match')).toEqual([`Patient/${person}`]);
      // The cap keeps the first in (type, id) order, so the page is the same every time.
      expect(idsWithMode(bundle, 'include')).toEqual(
        sorted(readings)
          .slice(0, 2)
          .map((id) => `Observation/${id}`),
      );
      expect(outcomeIssues(bundle)).toEqual([
        expect.objectContaining({ severity: 'warning', code: 'too-costly', expression: ['_revinclude'] }),
      ]);
      const under = await searchBundle(
        t,
        `/fhir/Observation?_id=${readings[0]}&_include=Observation:subject`,
      );
      expect(idsWithMode(under, 'include')).toEqual([`Patient/${person}`]);
      expect(outcomeIssues(under)).toEqual([]);
    });
  });
}
