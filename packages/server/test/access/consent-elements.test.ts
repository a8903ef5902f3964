/**
 * The Consent provision elements beyond actor, class and label (consent.html#Consent.provision):
 * opt-outs that name no actor, `purpose`, `action`, `dataPeriod`, `code` and `data`, through the
 * real HTTP door with real tokens, on PGlite and PostgreSQL. A family doctor, `doc-e`, is declared
 * with every pat-e*; each patient's Consent says one thing.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { type AccessTestApp, createAccessTestApp, PATIENT_SCOPE } from './access-app.ts';
import { allergy, consent, declaration, encounter, observation } from './access-fixtures.ts';

const DOCTOR = 'Practitioner/doc-e';
const HEART_RATE = { system: 'http://loinc.org', code: '8867-4' };
const BODY_WEIGHT = { system: 'http://loinc.org', code: '29463-7' };

const patient = (id: string): FhirResource => ({ resourceType: 'Patient', id, name: [{ family: id }] });

const PATIENTS = ['pat-e1', 'pat-e2', 'pat-e3', 'pat-e4', 'pat-e5', 'pat-e6', 'pat-e7', 'pat-e8', 'pat-e9'];

const DATA: FhirResource[] = [
  { resourceType: 'RelatedPerson', id: 'rp-e1', patient: { reference: 'Patient/pat-e1' } },
  ...PATIENTS.flatMap((id) => [
    patient(id),
    declaration({ id: `decl-${id}`, patient: id, practitioner: 'doc-e' }),
    observation({ id: `obs-${id}`, patient: id, effective: '2024-03-01' }),
    allergy({ id: `alg-${id}`, patient: id }),
  ]),
  // An opt-out for everyone (no actor), with an exception for one other practitioner.
  consent({
    id: 'c-e1',
    patient: 'pat-e1',
    type: 'deny',
    provisions: [{ type: 'permit', actors: ['Practitioner/trusted'] }],
  }),
  // A nurse's ward and a specialist's encounter with pat-e1 (opted out) and pat-e2 (not).
  encounter({ id: 'enc-e1-ward', patient: 'pat-e1', serviceProvider: 'ward-e' }),
  encounter({ id: 'enc-e2-ward', patient: 'pat-e2', serviceProvider: 'ward-e' }),
  encounter({ id: 'enc-e1-spec', patient: 'pat-e1', participant: 'spec-e' }),
  encounter({ id: 'enc-e2-spec', patient: 'pat-e2', participant: 'spec-e' }),
  // A deny of research use only.
  consent({ id: 'c-e2', patient: 'pat-e2', actor: DOCTOR, type: 'deny', purposes: ['HRESCH'] }),
  // A deny of corrections only: reading stays allowed.
  consent({ id: 'c-e3', patient: 'pat-e3', actor: DOCTOR, type: 'deny', actions: ['correct'] }),
  // A deny of access.
  consent({ id: 'c-e4', patient: 'pat-e4', actor: DOCTOR, type: 'deny', actions: ['access'] }),
  // A deny of the data of 2020.
  observation({ id: 'obs-pat-e5-2020', patient: 'pat-e5', effective: '2020-06-15' }),
  consent({
    id: 'c-e5',
    patient: 'pat-e5',
    actor: DOCTOR,
    type: 'deny',
    dataPeriod: { start: '2020', end: '2020' },
  }),
  // A deny of one code.
  observation({ id: 'obs-pat-e6-weight', patient: 'pat-e6', code: BODY_WEIGHT.code }),
  consent({ id: 'c-e6', patient: 'pat-e6', actor: DOCTOR, type: 'deny', codes: [HEART_RATE] }),
  // A deny of one resource, and of an encounter with what refers to it.
  encounter({ id: 'enc-e7', patient: 'pat-e7' }),
  observation({ id: 'obs-pat-e7-enc', patient: 'pat-e7', encounter: 'enc-e7' }),
  observation({ id: 'obs-pat-e7-other', patient: 'pat-e7' }),
  consent({
    id: 'c-e7',
    patient: 'pat-e7',
    actor: DOCTOR,
    type: 'deny',
    data: [
      { meaning: 'instance', reference: 'Observation/obs-pat-e7' },
      { meaning: 'dependents', reference: 'Encounter/enc-e7' },
    ],
  }),
  // An opt-out for everyone of one resource type.
  consent({ id: 'c-e8', patient: 'pat-e8', type: 'deny', classes: ['Observation'] }),
  // A deny of collecting (creating) only.
  consent({ id: 'c-e9', patient: 'pat-e9', actor: DOCTOR, type: 'deny', actions: ['collect'] }),
];

function ids(body: string): string[] {
  const bundle = JSON.parse(body) as { entry?: { resource: { resourceType: string; id: string } }[] };
  return (bundle.entry ?? []).map((entry) => `${entry.resource.resourceType}/${entry.resource.id}`).sort();
}

describe.each(testDatabases())('Consent provision elements on $name', (database) => {
  let t: AccessTestApp;
  let doctor = '';
  let trusted = '';
  let emergency = '';
  let patientE1 = '';
  let proxy = '';
  let nurse = '';
  let specialist = '';

  beforeAll(async () => {
    t = await createAccessTestApp(database);
    await t.put([...DATA, declaration({ id: 'decl-trusted', patient: 'pat-e1', practitioner: 'trusted' })]);
    doctor = await t.signIn({ username: 'doc-e', roles: ['family-doctor'], fhirUser: DOCTOR });
    trusted = await t.signIn({
      username: 'trusted',
      roles: ['family-doctor'],
      fhirUser: 'Practitioner/trusted',
    });
    // The proxy picks pat-e1 at sign-in, which needs a grant to read her (identity/launch-pickers.ts).
    await t.putStored([
      {
        ...consent({
          patient: 'pat-e1',
          actor: 'RelatedPerson/rp-e1',
          type: 'permit',
          classes: ['Patient', 'Observation'],
        }),
        id: 'grant-e1',
      },
    ]);
    proxy = await t.signIn({
      username: 'proxy-e1',
      roles: ['proxy'],
      fhirUser: 'RelatedPerson/rp-e1',
      scope: PATIENT_SCOPE,
      launchPatient: 'pat-e1',
    });
    nurse = await t.signIn({
      username: 'nurse-e',
      roles: ['nurse'],
      fhirUser: 'Practitioner/nurse-e',
      organization: 'Organization/ward-e',
    });
    specialist = await t.signIn({
      username: 'spec-e',
      roles: ['specialist'],
      fhirUser: 'Practitioner/spec-e',
    });
    emergency = await t.signIn({ username: 'er-e', roles: ['emergency'], fhirUser: 'Practitioner/er-e' });
    patientE1 = await t.signIn({
      username: 'patient-e1',
      roles: ['patient'],
      fhirUser: 'Patient/pat-e1',
      scope: PATIENT_SCOPE,
    });
  }, 300_000);
  afterAll(() => t.close());

  const get = (token: string, url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers: { authorization: token, ...headers } });
  const found = async (token: string, url: string, headers: Record<string, string> = {}) => {
    const response = await get(token, url, headers);
    expect(response.statusCode, response.body).toBe(200);
    return ids(response.body);
  };

  it('applies an opt-out naming no actor to every relationship rule, except the actors it excepts', async () => {
    expect((await get(doctor, '/fhir/Patient/pat-e1')).statusCode).toBe(404);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e1')).toEqual([]);
    // Its nested permit names `trusted`: their declaration still reaches her.
    expect(await found(trusted, '/fhir/Observation?subject=Patient/pat-e1')).toEqual([
      'Observation/obs-pat-e1',
    ]);
  });

  it('applies an opt-out to a nurse’s encounter rule and a specialist’s episode rule', async () => {
    expect(await found(nurse, '/fhir/Encounter')).toEqual(['Encounter/enc-e2-ward']);
    expect(await found(specialist, '/fhir/Encounter')).toEqual(['Encounter/enc-e2-spec']);
    expect((await get(specialist, '/fhir/Patient/pat-e1')).statusCode).toBe(404);
  });

  it('never applies an opt-out to the patient’s own record, their proxy’s grant, nor under break-the-glass', async () => {
    expect(await found(proxy, '/fhir/Patient/pat-e1/Observation')).toEqual(['Observation/obs-pat-e1']);
    expect(await found(patientE1, '/fhir/Patient/pat-e1/Observation')).toEqual(['Observation/obs-pat-e1']);
    const glass = await get(emergency, '/fhir/Observation/obs-pat-e1', {
      'x-purpose-of-use': 'ETREAT',
      'x-break-glass-reason': 'Unconscious on admission',
    });
    expect(glass.statusCode).toBe(200);
  });

  it('applies an opt-out of one resource type to that type only', async () => {
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e8')).toEqual([]);
    expect(await found(doctor, '/fhir/AllergyIntolerance?patient=Patient/pat-e8')).toEqual([
      'AllergyIntolerance/alg-pat-e8',
    ]);
  });

  it('applies a deny with a purpose only to requests of that purpose of use (Consent.provision.purpose)', async () => {
    expect((await get(doctor, '/fhir/Patient/pat-e2')).statusCode).toBe(200);
    expect((await get(doctor, '/fhir/Patient/pat-e2', { 'x-purpose-of-use': 'TREAT' })).statusCode).toBe(200);
    expect((await get(doctor, '/fhir/Patient/pat-e2', { 'x-purpose-of-use': 'HRESCH' })).statusCode).toBe(
      404,
    );
    expect(
      await found(doctor, '/fhir/Observation?subject=Patient/pat-e2', { 'x-purpose-of-use': 'HRESCH' }),
    ).toEqual([]);
    // The filter compiled for one purpose is not served to another.
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e2')).toEqual([
      'Observation/obs-pat-e2',
    ]);
  });

  it('does not apply to reads a deny whose actions do not include access or use (consentaction)', async () => {
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e3')).toEqual([
      'Observation/obs-pat-e3',
    ]);
    expect((await get(doctor, '/fhir/Patient/pat-e4')).statusCode).toBe(404);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e4')).toEqual([]);
  });

  it('denies only the data whose clinical time lies in provision.dataPeriod (Observation date)', async () => {
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e5')).toEqual([
      'Observation/obs-pat-e5',
    ]);
    expect((await get(doctor, '/fhir/Observation/obs-pat-e5-2020')).statusCode).toBe(404);
    // The Patient and the allergy have no clinical time in 2020.
    expect((await get(doctor, '/fhir/Patient/pat-e5')).statusCode).toBe(200);
  });

  it('denies only the resources with a provision.code (the type’s code parameter)', async () => {
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e6')).toEqual([
      'Observation/obs-pat-e6-weight',
    ]);
    expect((await get(doctor, '/fhir/Patient/pat-e6')).statusCode).toBe(200);
  });

  it('denies the resources of provision.data: an instance, and a dependents’ target with what refers to it', async () => {
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e7')).toEqual([
      'Observation/obs-pat-e7-other',
    ]);
    expect((await get(doctor, '/fhir/Encounter/enc-e7')).statusCode).toBe(404);
    expect((await get(doctor, '/fhir/Patient/pat-e7')).statusCode).toBe(200);
  });

  it('searches the patients the Consents leave whole, and counts only those', async () => {
    const response = await get(doctor, '/fhir/Patient?_count=100&_total=accurate');
    const expected = ['pat-e2', 'pat-e3', 'pat-e5', 'pat-e6', 'pat-e7', 'pat-e8', 'pat-e9'].map(
      (id) => `Patient/${id}`,
    );
    expect(ids(response.body)).toEqual(expected);
    expect(JSON.parse(response.body).total).toBe(expected.length);
  });

  // Writes: last, so the tests above see the data as they were.
  const send = (token: string, method: 'POST' | 'PUT' | 'DELETE', url: string, body?: FhirResource) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: token, 'content-type': 'application/fhir+json' },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
  const fresh = (patientId: string): FhirResource => {
    const { id: _id, ...resource } = observation({ id: 'unused', patient: patientId });
    return resource as FhirResource;
  };

  it('applies a deny of correct to updates and deletes, not to reads nor creates (consentaction)', async () => {
    expect((await get(doctor, '/fhir/Observation/obs-pat-e3')).statusCode).toBe(200);
    const update = observation({ id: 'obs-pat-e3', patient: 'pat-e3', effective: '2024-03-02' });
    const updated = await send(doctor, 'PUT', '/fhir/Observation/obs-pat-e3', update);
    expect(updated.statusCode, updated.body).toBe(403);
    expect((await send(doctor, 'DELETE', '/fhir/Observation/obs-pat-e3')).statusCode).toBe(403);
    const read = await get(doctor, '/fhir/Observation/obs-pat-e3');
    expect(JSON.parse(read.body).meta.versionId).toBe('1');
    const created = await send(doctor, 'POST', '/fhir/Observation', fresh('pat-e3'));
    expect(created.statusCode, created.body).toBe(201);
  });

  it('applies a deny of collect to creates only: updates stay allowed (consentaction)', async () => {
    const created = await send(doctor, 'POST', '/fhir/Observation', fresh('pat-e9'));
    expect(created.statusCode, created.body).toBe(403);
    // An update that creates (a new id) collects too.
    const putNew = await send(
      doctor,
      'PUT',
      '/fhir/Observation/obs-pat-e9-new',
      observation({ id: 'obs-pat-e9-new', patient: 'pat-e9' }),
    );
    expect(putNew.statusCode, putNew.body).toBe(403);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-e9')).toEqual([
      'Observation/obs-pat-e9',
    ]);
    const update = observation({ id: 'obs-pat-e9', patient: 'pat-e9', effective: '2024-03-02' });
    const updated = await send(doctor, 'PUT', '/fhir/Observation/obs-pat-e9', update);
    expect(updated.statusCode, updated.body).toBe(200);
  });

  it('does not apply a deny of access to writes: a create in that record stays allowed (consentaction)', async () => {
    const created = await send(doctor, 'POST', '/fhir/Observation', fresh('pat-e4'));
    expect(created.statusCode, created.body).toBe(201);
    // What the doctor may not read they cannot update either: the target is hidden, not refused.
    const update = observation({ id: 'obs-pat-e4', patient: 'pat-e4', effective: '2024-03-02' });
    const updated = await send(doctor, 'PUT', '/fhir/Observation/obs-pat-e4', update);
    expect(updated.statusCode, updated.body).toBe(409);
  });
});
