/**
 * Patient `$everything` (http://hl7.org/fhir/R4/patient-operation-everything.html) through the
 * HTTP door: the Patient compartment as matches, the practitioners, organizations, locations and
 * medications its members refer to as includes, keyset paging, `_type`, `_since`, and a real
 * Synthea record.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSharedData } from '../../../fhir/test/support/shared-data.ts';
import { type TestDatabase, testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, patient, type TestApp } from '../support/test-app.ts';
import {
  createResource,
  idsWithMode,
  linkPath,
  list,
  outcomeIssues,
  searchBundle,
} from './search-helpers.ts';

const SYNTHEA = requireSharedData('synthea');
// A real patient Bundle of 302 entries (Organization and Practitioner entries included).
const SYNTHEA_PATIENT = 'smart-r4-2019/f5320959-8b37-4ec0-931f-8fb0fe22bdbc.json.gz';
const SYNTHEA_TIMEOUT_MS = 120_000;

/** One patient's record and the resources around it, as `Type/id`. */
interface Chart {
  patientId: string;
  /** The Patient compartment: the Patient and every resource about it. */
  members: string[];
  /** Resources outside the compartment that members refer to. */
  referenced: string[];
  observationIds: string[];
  medicationId: string;
  conditionId: string;
}

async function createChart(t: TestApp, options: { observations?: number } = {}): Promise<Chart> {
  const create = async (resource: FhirResource) =>
    `${resource.resourceType}/${await createResource(t, resource)}`;
  const organization = await create({ resourceType: 'Organization', name: 'Kyiv City Clinic 3' });
  const location = await create({
    resourceType: 'Location',
    name: 'Room 12',
    managingOrganization: { reference: organization },
  });
  const practitioner = await create({ resourceType: 'Practitioner', name: [{ family: 'Bondar' }] });
  const medication = await create({
    resourceType: 'Medication',
    code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }] },
  });
  // Exists, but nothing of this record refers to it.
  await create({ resourceType: 'Practitioner', name: [{ family: 'Stranger' }] });

  const patientRef = await create({
    ...patient({ family: 'Everything' }),
    generalPractitioner: [{ reference: practitioner }],
    managingOrganization: { reference: organization },
  });
  const subject = { reference: patientRef };
  const encounter = await create({
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject,
    participant: [{ individual: { reference: practitioner } }],
    serviceProvider: { reference: organization },
    location: [{ location: { reference: location } }],
  });
  const observations: string[] = [];
  for (let index = 0; index < (options.observations ?? 2); index++) {
    observations.push(
      await create({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject,
        encounter: { reference: encounter },
        performer: [{ reference: practitioner }],
        valueQuantity: { value: 60 + index, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      }),
    );
  }
  const condition = await create({
    resourceType: 'Condition',
    subject,
    encounter: { reference: encounter },
    asserter: { reference: practitioner },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] },
  });
  const prescription = await create({
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    subject,
    medicationReference: { reference: medication },
    requester: { reference: practitioner },
  });
  return {
    patientId: idOf(patientRef),
    members: [patientRef, encounter, ...observations, condition, prescription],
    referenced: [organization, location, practitioner, medication],
    observationIds: observations.map(idOf),
    medicationId: idOf(medication),
    conditionId: idOf(condition),
  };
}

function idOf(reference: string): string {
  return reference.split('/')[1] ?? '';
}

const sorted = (values: readonly string[]) => [...values].sort();

interface EverythingPage {
  bundle: Record<string, unknown>;
  matches: string[];
  included: string[];
}

async function everythingPage(t: TestApp, url: string): Promise<EverythingPage> {
  const bundle = await searchBundle(t, url);
  return { bundle, matches: idsWithMode(bundle, 'match'), included: idsWithMode(bundle, 'include') };
}

/** Every page from `url` on, following `next`; `between` runs after each page. */
async function allPages(t: TestApp, url: string, between?: () => Promise<void>): Promise<EverythingPage[]> {
  const pages: EverythingPage[] = [];
  let next: string | undefined = url;
  while (next !== undefined) {
    const page = await everythingPage(t, next);
    pages.push(page);
    next = linkPath(page.bundle, 'next');
    if (between !== undefined) await between();
  }
  return pages;
}

for (const database of testDatabases()) {
  describe(`Patient $everything on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('returns the Patient compartment as matches and the resources it refers to as includes, nothing of another patient (patient-operation-everything.html)', async () => {
      const chart = await createChart(t);
      const other = await createChart(t);
      const page = await everythingPage(t, `/fhir/Patient/${chart.patientId}/$everything`);
      expect(sorted(page.matches)).toEqual(sorted(chart.members));
      expect(sorted(page.included)).toEqual(sorted(chart.referenced));
      for (const reference of [...other.members, ...other.referenced]) {
        expect(page.matches).not.toContain(reference);
        expect(page.included).not.toContain(reference);
      }
      for (const entry of list(page.bundle.entry)) {
        const type = String(at(entry, 'resource', 'resourceType'));
        expect(at(entry, 'fullUrl')).toBe(
          `http://fhir.test/fhir/${type}/${String(at(entry, 'resource', 'id'))}`,
        );
      }
      expect(page.bundle.total).toBeUndefined();
      expect(linkPath(page.bundle, 'self')).toBe(`/fhir/Patient/${chart.patientId}/$everything`);
      expect(linkPath(page.bundle, 'next')).toBeUndefined();
    });

    it('counts the members when _total=accurate is asked (search.html#total)', async () => {
      const chart = await createChart(t);
      const page = await everythingPage(
        t,
        `/fhir/Patient/${chart.patientId}/$everything?_total=accurate&_count=1`,
      );
      expect(page.bundle.total).toBe(chart.members.length);
      expect(page.matches).toHaveLength(1);
    });

    it('restricts members and included resources to the types of _type (patient-operation-everything.html, _type)', async () => {
      const chart = await createChart(t);
      const practitioner = chart.referenced.filter((reference) => reference.startsWith('Practitioner/'));
      const both = await everythingPage(
        t,
        `/fhir/Patient/${chart.patientId}/$everything?_type=Observation,Practitioner`,
      );
      expect(sorted(both.matches)).toEqual(sorted(chart.observationIds.map((id) => `Observation/${id}`)));
      expect(both.included).toEqual(practitioner);

      const repeated = await everythingPage(
        t,
        `/fhir/Patient/${chart.patientId}/$everything?_type=Condition&_type=Patient`,
      );
      expect(sorted(repeated.matches)).toEqual(
        sorted([`Condition/${chart.conditionId}`, `Patient/${chart.patientId}`]),
      );
      expect(repeated.included).toEqual([]);
    });

    it('returns only what changed at or after _since, the Patient included (patient-operation-everything.html, _since)', async () => {
      const chart = await createChart(t);
      const full = await everythingPage(t, `/fhir/Patient/${chart.patientId}/$everything`);
      const later = await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
        subject: { reference: `Patient/${chart.patientId}` },
      });
      const read = await t.app.inject({ method: 'GET', url: `/fhir/Observation/${later}` });
      const since = String(at(json(read.body), 'meta', 'lastUpdated'));
      // Resources written in the same millisecond as `later` are changes at `_since` too.
      const sameInstant = list(full.bundle.entry)
        .filter((entry) => at(entry, 'search', 'mode') === 'match')
        .filter((entry) => String(at(entry, 'resource', 'meta', 'lastUpdated')) >= since)
        .map(
          (entry) =>
            `${String(at(entry, 'resource', 'resourceType'))}/${String(at(entry, 'resource', 'id'))}`,
        );

      const changed = await everythingPage(
        t,
        `/fhir/Patient/${chart.patientId}/$everything?_since=${encodeURIComponent(since)}`,
      );
      expect(sorted(changed.matches)).toEqual(sorted([`Observation/${later}`, ...sameInstant]));
      expect(changed.included).toEqual([]);
    });

    it('pages with _count through every member exactly once, each page with the resources its members refer to (patient-operation-everything.html, _count; http.html#paging)', async () => {
      const chart = await createChart(t, { observations: 5 });
      const pages = await allPages(t, `/fhir/Patient/${chart.patientId}/$everything?_count=2`);
      expect(pages.length).toBe(Math.ceil(chart.members.length / 2));
      expect(pages.every((page) => page.matches.length <= 2)).toBe(true);
      const matched = pages.flatMap((page) => page.matches);
      expect(matched).toHaveLength(chart.members.length);
      expect(sorted(matched)).toEqual(sorted(chart.members));
      expect(sorted([...new Set(pages.flatMap((page) => page.included))])).toEqual(sorted(chart.referenced));
      for (const page of pages) {
        expect(new Set(page.included).size).toBe(page.included.length);
        if (page.matches.some((reference) => reference.startsWith('Observation/'))) {
          // Every Observation refers to the practitioner (performer): it is on the page with it.
          expect(page.included.some((reference) => reference.startsWith('Practitioner/'))).toBe(true);
        }
      }

      // Walking back with previous links gives the same pages in reverse.
      const last = pages.at(-1);
      let previous = last === undefined ? undefined : linkPath(last.bundle, 'previous');
      const backwards: string[][] = [];
      while (previous !== undefined) {
        const page = await everythingPage(t, previous);
        backwards.push(page.matches);
        previous = linkPath(page.bundle, 'previous');
      }
      expect(backwards.reverse()).toEqual(pages.slice(0, -1).map((page) => page.matches));
      expect(linkPath(pages[0]?.bundle ?? {}, 'previous')).toBeUndefined();
      expect(linkPath(last?.bundle ?? {}, 'first')).toBe(
        `/fhir/Patient/${chart.patientId}/$everything?_count=2`,
      );
    });

    it('keeps paging stable while the record is written between pages: no member skipped or repeated (http.html#paging)', async () => {
      const chart = await createChart(t, { observations: 4 });
      const [firstObservation = ''] = chart.observationIds;
      let writes = 0;
      const pages = await allPages(t, `/fhir/Patient/${chart.patientId}/$everything?_count=3`, async () => {
        writes += 1;
        await createResource(t, {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
          subject: { reference: `Patient/${chart.patientId}` },
        });
        const update = await t.app.inject({
          method: 'PUT',
          url: `/fhir/Observation/${firstObservation}`,
          headers: FHIR_JSON,
          payload: {
            resourceType: 'Observation',
            id: firstObservation,
            status: 'amended',
            code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
            subject: { reference: `Patient/${chart.patientId}` },
          },
        });
        expect(update.statusCode).toBe(200);
      });
      expect(writes).toBe(pages.length);
      const matched = pages.flatMap((page) => page.matches);
      expect(new Set(matched).size).toBe(matched.length);
      expect(sorted(matched.filter((reference) => chart.members.includes(reference)))).toEqual(
        sorted(chart.members),
      );
    });

    it('leaves out deleted members and deleted referenced resources', async () => {
      const chart = await createChart(t);
      const [deletedObservation = ''] = chart.observationIds;
      for (const path of [`Observation/${deletedObservation}`, `Medication/${chart.medicationId}`]) {
        expect((await t.app.inject({ method: 'DELETE', url: `/fhir/${path}` })).statusCode).toBe(204);
      }
      const page = await everythingPage(t, `/fhir/Patient/${chart.patientId}/$everything`);
      expect(sorted(page.matches)).toEqual(
        sorted(chart.members.filter((reference) => reference !== `Observation/${deletedObservation}`)),
      );
      expect(sorted(page.included)).toEqual(
        sorted(chart.referenced.filter((reference) => reference !== `Medication/${chart.medicationId}`)),
      );
    });

    it('answers 404 for an unknown patient and 410 for a deleted one (http.html#read)', async () => {
      const unknown = await t.app.inject({ method: 'GET', url: '/fhir/Patient/no-such-patient/$everything' });
      expect(unknown.statusCode).toBe(404);
      expect(at(json(unknown.body), 'issue', 0, 'code')).toBe('not-found');

      const chart = await createChart(t);
      await t.app.inject({ method: 'DELETE', url: `/fhir/Patient/${chart.patientId}` });
      const deleted = await t.app.inject({
        method: 'GET',
        url: `/fhir/Patient/${chart.patientId}/$everything`,
      });
      expect(deleted.statusCode).toBe(410);
      expect(at(json(deleted.body), 'resourceType')).toBe('OperationOutcome');
    });

    it('takes its parameters from a Parameters body on POST, and links repeat them as a GET (operations.html#request)', async () => {
      const chart = await createChart(t, { observations: 3 });
      const response = await t.app.inject({
        method: 'POST',
        url: `/fhir/Patient/${chart.patientId}/$everything`,
        headers: FHIR_JSON,
        payload: {
          resourceType: 'Parameters',
          parameter: [
            { name: '_type', valueCode: 'Observation,Practitioner' },
            { name: '_count', valueInteger: 2 },
          ],
        },
      });
      expect(response.statusCode, response.body).toBe(200);
      const first = json(response.body);
      expect(idsWithMode(first, 'match')).toHaveLength(2);
      expect(idsWithMode(first, 'include').every((reference) => reference.startsWith('Practitioner/'))).toBe(
        true,
      );
      const next = linkPath(first, 'next');
      expect(next).toMatch(/_type=Observation%2CPractitioner&_count=2&_cursor=/);
      const rest = await allPages(t, next ?? '');
      const matched = [...idsWithMode(first, 'match'), ...rest.flatMap((page) => page.matches)];
      expect(sorted(matched)).toEqual(sorted(chart.observationIds.map((id) => `Observation/${id}`)));
    });

    it('reports start/end as not supported, and fails with them under handling=strict (search.html#errors)', async () => {
      const chart = await createChart(t);
      const lenient = await everythingPage(
        t,
        `/fhir/Patient/${chart.patientId}/$everything?start=2020-01-01`,
      );
      expect(sorted(lenient.matches)).toEqual(sorted(chart.members));
      expect(outcomeIssues(lenient.bundle)).toMatchObject([
        { severity: 'warning', code: 'not-supported', expression: ['start'] },
      ]);
      const strict = await t.app.inject({
        method: 'GET',
        url: `/fhir/Patient/${chart.patientId}/$everything?end=2020-01-01`,
        headers: { prefer: 'handling=strict' },
      });
      expect(strict.statusCode).toBe(400);
      expect(at(json(strict.body), 'issue', 0, 'expression')).toEqual(['end']);
    });

    it('refuses a malformed _since, an unknown _type and a foreign cursor with 400', async () => {
      const chart = await createChart(t);
      for (const query of ['_since=yesterday', '_type=Observation,NotAType', '_count=-1', '_cursor=abc']) {
        const response = await t.app.inject({
          method: 'GET',
          url: `/fhir/Patient/${chart.patientId}/$everything?${query}`,
        });
        expect(response.statusCode, query).toBe(400);
      }
    });

    it('is listed on Patient in the CapabilityStatement with its definition (capabilitystatement.html)', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/fhir/metadata' });
      const resources = list(at(json(response.body), 'rest', 0, 'resource'));
      const patientEntry = resources.find((entry) => at(entry, 'type') === 'Patient');
      expect(list(at(patientEntry, 'operation'))).toContainEqual({
        name: 'everything',
        definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
      });
    });
  });

  describe(`Patient $everything at type level on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('returns every patient’s compartment, each member once, across pages (patient-operation-everything.html, [base]/Patient/$everything)', async () => {
      const first = await createChart(t);
      const second = await createChart(t);
      const everyMember = [...first.members, ...second.members];
      const whole = await everythingPage(t, '/fhir/Patient/$everything');
      expect(sorted(whole.matches)).toEqual(sorted(everyMember));
      expect(sorted(whole.included)).toEqual(sorted([...first.referenced, ...second.referenced]));

      const pages = await allPages(t, '/fhir/Patient/$everything?_count=4&_type=Patient,Observation');
      const matched = pages.flatMap((page) => page.matches);
      expect(sorted(matched)).toEqual(
        sorted(everyMember.filter((reference) => /^(Patient|Observation)\//.test(reference))),
      );
      expect(linkPath(pages[0]?.bundle ?? {}, 'self')).toBe(
        '/fhir/Patient/$everything?_count=4&_type=Patient%2CObservation',
      );
    });

    it('leaves out the records of a deleted patient', async () => {
      const kept = await createChart(t);
      const gone = await createChart(t);
      await t.app.inject({ method: 'DELETE', url: `/fhir/Patient/${gone.patientId}` });
      const pages = await allPages(t, '/fhir/Patient/$everything?_type=Observation');
      const matched = pages.flatMap((page) => page.matches);
      for (const id of kept.observationIds) expect(matched).toContain(`Observation/${id}`);
      for (const id of gone.observationIds) expect(matched).not.toContain(`Observation/${id}`);
    });
  });

  describe.skipIf(SYNTHEA === null)(`Patient $everything of a Synthea record on ${database.name}`, () => {
    it(
      'returns every resource of the patient’s transaction Bundle (patient-operation-everything.html)',
      async () => {
        await syntheaRoundTrip(database);
      },
      SYNTHEA_TIMEOUT_MS,
    );
  });
}

/** Loads one Synthea patient Bundle as a transaction and reads it back with `$everything`. */
async function syntheaRoundTrip(database: TestDatabase): Promise<void> {
  const t = await createTestApp(database);
  try {
    const path = join(SYNTHEA ?? '', SYNTHEA_PATIENT);
    expect(readdirSync(join(SYNTHEA ?? '', 'smart-r4-2019'))).toContain(SYNTHEA_PATIENT.split('/')[1]);
    const bundle = json(gunzipSync(readFileSync(path)).toString('utf8'));
    const response = await t.app.inject({
      method: 'POST',
      url: '/fhir',
      headers: FHIR_JSON,
      payload: bundle,
    });
    expect(response.statusCode, response.body).toBe(200);
    // transaction-response entries are in request order: each location names what was created.
    const stored = list(json(response.body).entry).map((entry) => {
      const location = String(at(entry, 'response', 'location'));
      const [, type = '', id = ''] = /([A-Za-z]+)\/([A-Za-z0-9\-.]+)\/_history\/\d+$/.exec(location) ?? [];
      return `${type}/${id}`;
    });
    expect(stored).toHaveLength(list(bundle.entry).length);
    const patientId = idOf(stored.find((reference) => reference.startsWith('Patient/')) ?? '');

    const pages = await allPages(t, `/fhir/Patient/${patientId}/$everything?_count=100`);
    const matched = pages.flatMap((page) => page.matches);
    expect(new Set(matched).size).toBe(matched.length);
    const returned = new Set([...matched, ...pages.flatMap((page) => page.included)]);
    expect(sorted([...returned])).toEqual(sorted(stored));
    // The record's own resources are the compartment; its Organizations and Practitioners are not.
    expect(sorted(matched)).toEqual(
      sorted(stored.filter((reference) => !/^(Organization|Practitioner)\//.test(reference))),
    );
  } finally {
    await t.close();
  }
}
