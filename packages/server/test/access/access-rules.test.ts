/**
 * The rules of the access decision that the matrix does not cover: the pharmacist's door through a
 * prescription identifier and the masked Patient, break-the-glass (granted to the emergency role
 * with a reason, flagged, refused otherwise), a Consent that denies only labelled data, a finished
 * declaration, and the principals that read everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideAccess } from '../../src/access/access-policy.ts';
import { purposeOfUse } from '../../src/access/break-the-glass.ts';
import { type RequestContext, systemContext } from '../../src/access/request-context.ts';
import { parseScopes } from '../../src/access/smart-scopes.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { type AccessTestApp, createAccessTestApp, PATIENT_SCOPE } from './access-app.ts';
import { consent, declaration, observation, prescription, RX_SYSTEM } from './access-fixtures.ts';
import { SCENARIO } from './scenario.ts';

const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };

function ids(body: string): string[] {
  const bundle = JSON.parse(body) as { entry?: { resource: { resourceType: string; id: string } }[] };
  return (bundle.entry ?? []).map((entry) => `${entry.resource.resourceType}/${entry.resource.id}`).sort();
}

describe('the access decision without a database', () => {
  const user = (principal: RequestContext['principal']): RequestContext => ({ principal, requestId: 'test' });

  it('leaves the open development and system principals unrestricted', () => {
    expect(decideAccess(user({ kind: 'open-development' }), { kind: 'read' }).rows).toBeUndefined();
    expect(decideAccess(user({ kind: 'system', id: 'job' }), { kind: 'read' }).rows).toBeUndefined();
  });

  it('lets an anonymous principal reach no row', () => {
    const rows = decideAccess(user({ kind: 'anonymous' }), { kind: 'read' }).rows;
    expect(rows?.visible(sql`r`, ['Patient']).text).toContain('false');
  });

  it('lets a statistician read types outside the Patient compartment and nothing inside it', () => {
    const ctx = user({
      kind: 'user',
      id: 'u',
      roles: ['statistician'],
      scopes: parseScopes('user/*.rs'),
      clientId: 'c',
      expiresAt: 0,
    });
    const rows = decideAccess(ctx, { kind: 'read' }).rows;
    expect(rows?.visible(sql`r`, ['Organization', 'ValueSet']).text).toBe('true');
    expect(rows?.visible(sql`r`, ['Observation']).text).toBe('false');
  });

  it('reads break-the-glass from X-Purpose-Of-Use: ETREAT and its reason', () => {
    expect(purposeOfUse({})).toEqual({});
    expect(purposeOfUse({ 'x-purpose-of-use': 'TREAT' })).toEqual({ purposeOfUse: 'TREAT' });
    expect(
      purposeOfUse({ 'x-purpose-of-use': 'etreat', 'x-break-glass-reason': ' Cardiac arrest ' }),
    ).toEqual({
      purposeOfUse: 'ETREAT',
      breakTheGlass: { reason: 'Cardiac arrest' },
    });
  });
});

describe.each(testDatabases())('access rules over HTTP on $name', (database) => {
  let t: AccessTestApp;
  let pharmacist = '';
  let doctor = '';
  let emergency = '';
  let proxy = '';
  let patient = '';
  let specialist = '';

  beforeAll(async () => {
    t = await createAccessTestApp(database);
    await t.put([
      ...SCENARIO,
      { resourceType: 'Patient', id: 'pat-e', name: [{ family: 'Echo' }] },
      declaration({ id: 'decl-e', patient: 'pat-e', practitioner: 'doc' }),
      observation({ id: 'obs-e1', patient: 'pat-e' }),
      { ...observation({ id: 'obs-e2', patient: 'pat-e' }), meta: { security: [PSY] } },
      consent({
        id: 'deny-e-psy',
        patient: 'pat-e',
        actor: 'Practitioner/doc',
        type: 'deny',
        securityLabels: [PSY],
      }),
      { resourceType: 'Patient', id: 'pat-f', name: [{ family: 'Foxtrot' }] },
      declaration({ id: 'decl-f', patient: 'pat-f', practitioner: 'doc', status: 'finished' }),
      observation({ id: 'obs-f1', patient: 'pat-f' }),
      prescription({ id: 'rx-done', patient: 'pat-a', number: 'RX-9', status: 'completed' }),
      { resourceType: 'RelatedPerson', id: 'rp-2', patient: { reference: 'Patient/pat-b' } },
    ]);
    // The proxy picks pat-b at sign-in, which needs a grant to read her (identity/launch-pickers.ts).
    await t.putStored([
      {
        ...consent({
          patient: 'pat-b',
          actor: 'RelatedPerson/rp-2',
          type: 'permit',
          classes: ['Patient', 'Observation'],
        }),
        id: 'grant-b',
      },
    ]);
    proxy = await t.signIn({
      username: 'proxy-b',
      roles: ['proxy'],
      fhirUser: 'RelatedPerson/rp-2',
      scope: PATIENT_SCOPE,
      launchPatient: 'pat-b',
    });
    pharmacist = await t.signIn({ username: 'pharm', roles: ['pharmacist'], fhirUser: 'Practitioner/pharm' });
    doctor = await t.signIn({ username: 'doc', roles: ['family-doctor'], fhirUser: 'Practitioner/doc' });
    emergency = await t.signIn({ username: 'er', roles: ['emergency'], fhirUser: 'Practitioner/er' });
    patient = await t.signIn({
      username: 'patient-b',
      roles: ['patient'],
      fhirUser: 'Patient/pat-b',
      scope: PATIENT_SCOPE,
    });
    specialist = await t.signIn({ username: 'spec', roles: ['specialist'], fhirUser: 'Practitioner/spec' });
  }, 300_000);
  afterAll(() => t.close());

  const get = (token: string, url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers: { authorization: token, ...headers } });
  const send = (token: string, method: 'POST' | 'PUT', url: string, resource: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: token, 'content-type': 'application/fhir+json' },
      payload: JSON.stringify(resource),
    });

  it('gives a pharmacist a prescription by its identifier, with the patient masked to what dispensing needs', async () => {
    const found = await get(
      pharmacist,
      `/fhir/MedicationRequest?identifier=${RX_SYSTEM}|RX-1&_include=MedicationRequest:subject`,
    );
    expect(found.statusCode).toBe(200);
    expect(ids(found.body)).toEqual(['MedicationRequest/rx-a', 'Patient/pat-a']);
    const patient = JSON.parse(found.body).entry.find(
      (entry: { resource: { resourceType: string } }) => entry.resource.resourceType === 'Patient',
    ).resource;
    expect(patient.name).toEqual([{ family: 'Alpha' }]);
    expect(patient.birthDate).toBe('1970-01-01');
    expect(patient.telecom).toBeUndefined();
    expect(patient.address).toBeUndefined();
    expect(patient.meta.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
  });

  it('gives a pharmacist no prescription without its full identifier, and nothing by id', async () => {
    for (const url of [
      '/fhir/MedicationRequest?identifier=RX-1',
      `/fhir/MedicationRequest?identifier=${RX_SYSTEM}|`,
      '/fhir/MedicationRequest',
      '/fhir/MedicationRequest?subject=Patient/pat-a',
      `/fhir/Patient?_has:MedicationRequest:subject:identifier=${RX_SYSTEM}|RX-1`,
    ]) {
      const response = await get(pharmacist, url);
      expect(response.statusCode, url).toBe(200);
      expect(ids(response.body), url).toEqual([]);
    }
    expect((await get(pharmacist, '/fhir/MedicationRequest/rx-a')).statusCode).toBe(404);
    expect((await get(pharmacist, '/fhir/Patient/pat-a')).statusCode).toBe(404);
  });

  it('honours a Consent that denies a practitioner only the data carrying a security label', async () => {
    const observations = await get(doctor, '/fhir/Observation?subject=Patient/pat-e');
    expect(ids(observations.body)).toEqual(['Observation/obs-e1']);
    expect((await get(doctor, '/fhir/Observation/obs-e2')).statusCode).toBe(404);
    expect((await get(doctor, '/fhir/Patient/pat-e')).statusCode).toBe(200);
  });

  it('gives a proxy only the resource types the patient’s Consent grants (provision.class)', async () => {
    // The grant (grant-b) is stored before the proxy signs in: see beforeAll.
    expect((await get(proxy, '/fhir/Patient/pat-b')).statusCode).toBe(200);
    const observations = await get(proxy, '/fhir/Patient/pat-b/Observation');
    expect(ids(observations.body)).toEqual(['Observation/obs-b1']);
    const allergies = await get(proxy, '/fhir/Patient/pat-b/AllergyIntolerance');
    expect(allergies.statusCode).toBe(200);
    expect(ids(allergies.body)).toEqual([]);
  });

  it('ends a family doctor’s reach when the declaration is no longer active', async () => {
    expect((await get(doctor, '/fhir/Patient/pat-f')).statusCode).toBe(404);
    expect((await get(doctor, '/fhir/Observation/obs-f1')).statusCode).toBe(404);
    const reopened = await t.app.inject({
      method: 'GET',
      url: '/fhir/Observation?subject=Patient/pat-f',
      headers: { authorization: doctor },
    });
    expect(ids(reopened.body)).toEqual([]);
  });

  it('grants break-the-glass to the emergency role with a reason and reads the whole record', async () => {
    expect((await get(emergency, '/fhir/Observation/obs-c1')).statusCode).toBe(404);
    const granted = await get(emergency, '/fhir/Observation/obs-c1', {
      'x-purpose-of-use': 'ETREAT',
      'x-break-glass-reason': 'Unconscious, no relatives reachable',
    });
    expect(granted.statusCode).toBe(200);
  });

  it('refuses break-the-glass without a reason, and to any role but emergency (403)', async () => {
    const noReason = await get(emergency, '/fhir/Observation/obs-c1', { 'x-purpose-of-use': 'ETREAT' });
    expect(noReason.statusCode).toBe(403);
    expect(noReason.body).toContain('x-break-glass-reason');
    const notEmergency = await get(doctor, '/fhir/Observation/obs-c1', {
      'x-purpose-of-use': 'ETREAT',
      'x-break-glass-reason': 'curious',
    });
    expect(notEmergency.statusCode).toBe(403);
    expect(notEmergency.body).toContain('emergency role only');
  });

  it('flags a break-the-glass request on the RequestContext the audit reads', async () => {
    const seen: RequestContext[] = [];
    const original = t.core.handle.bind(t.core);
    t.core.handle = async (ctx, request) => {
      seen.push(ctx);
      return original(ctx, request);
    };
    try {
      await get(emergency, '/fhir/Patient/pat-c', {
        'x-purpose-of-use': 'ETREAT',
        'x-break-glass-reason': 'Anaphylaxis',
      });
    } finally {
      t.core.handle = original;
    }
    expect(seen.map((ctx) => [ctx.purposeOfUse, ctx.breakTheGlass])).toEqual([
      ['ETREAT', { reason: 'Anaphylaxis' }],
    ]);
  });

  it('lets a backend client bound to no organization read everything (the operator’s integration)', async () => {
    const token = await t.clientToken({ name: 'integration', scopes: ['system/*.rs'] });
    expect((await get(token, '/fhir/Observation/obs-c1')).statusCode).toBe(200);
    const bound = await t.clientToken({
      name: 'clinic mis',
      scopes: ['system/*.rs'],
      organization: 'Organization/org-clinic',
    });
    // The clinic has encounter enc-a1 with pat-a and the declaration of pat-c, nothing of pat-d.
    expect((await get(bound, '/fhir/Observation/obs-c1')).statusCode).toBe(200);
    expect((await get(bound, '/fhir/Observation/obs-d')).statusCode).toBe(404);
    expect((await get(bound, '/fhir/Observation/obs-a2')).statusCode).toBe(200);
  });

  // The tests below write: they come last, so the ones above see the scenario as it was.

  it('answers a patient/ token’s read by id outside its record as it answers an id that does not exist', async () => {
    expect((await get(patient, '/fhir/Observation/obs-b1')).statusCode).toBe(200);
    expect((await get(patient, '/fhir/Observation/obs-b1/_history/1')).statusCode).toBe(200);
    const outside = await get(patient, '/fhir/Observation/obs-a1');
    const absent = await get(patient, '/fhir/Observation/obs-zz');
    expect(outside.statusCode).toBe(404);
    expect(absent.statusCode).toBe(404);
    expect(outside.body.replaceAll('obs-a1', 'X')).toBe(absent.body.replaceAll('obs-zz', 'X'));
    const outsideVersion = await get(patient, '/fhir/Observation/obs-a1/_history/1');
    const absentVersion = await get(patient, '/fhir/Observation/obs-zz/_history/1');
    expect(outsideVersion.statusCode).toBe(404);
    expect(outsideVersion.body.replaceAll('obs-a1', 'X')).toBe(absentVersion.body.replaceAll('obs-zz', 'X'));
  });

  it('lets a patient write into their own record and not into another', async () => {
    const own = await send(patient, 'POST', '/fhir/Observation', observation({ id: 'x', patient: 'pat-b' }));
    expect(own.statusCode, own.body).toBe(201);
    const other = await send(
      patient,
      'POST',
      '/fhir/Observation',
      observation({ id: 'x', patient: 'pat-a' }),
    );
    expect(other.statusCode, other.body).toBe(403);
    // Moving their own Observation into another record is refused too, and changes nothing.
    const moved = await send(
      patient,
      'PUT',
      '/fhir/Observation/obs-b1',
      observation({ id: 'obs-b1', patient: 'pat-a', encounter: 'enc-b1' }),
    );
    expect(moved.statusCode, moved.body).toBe(403);
    const stored = await t.store.read(systemContext('check'), 'Observation', 'obs-b1');
    expect(stored?.versionId).toBe(1);
    const ofA = await get(doctor, '/fhir/Observation?subject=Patient/pat-a&_count=100');
    expect(ids(ofA.body)).toEqual(['Observation/obs-a1', 'Observation/obs-a2']);
  });

  it('lets a specialist write inside their episodes and not outside them', async () => {
    const inEpisode = await send(
      specialist,
      'POST',
      '/fhir/Observation',
      observation({ id: 'x', patient: 'pat-d', encounter: 'enc-d' }),
    );
    expect(inEpisode.statusCode, inEpisode.body).toBe(201);
    const noEpisode = await send(
      specialist,
      'POST',
      '/fhir/Observation',
      observation({ id: 'x', patient: 'pat-b' }),
    );
    expect(noEpisode.statusCode, noEpisode.body).toBe(403);
    const otherEncounter = await send(
      specialist,
      'PUT',
      '/fhir/Observation/obs-a2',
      observation({ id: 'obs-a2', patient: 'pat-a', encounter: 'enc-a1' }),
    );
    expect(otherEncounter.statusCode, otherEncounter.body).toBe(403);
    const sameEncounter = await send(
      specialist,
      'PUT',
      '/fhir/Observation/obs-a2',
      observation({ id: 'obs-a2', patient: 'pat-a', encounter: 'enc-a2', code: '8310-5' }),
    );
    expect(sameEncounter.statusCode, sameEncounter.body).toBe(200);
  });
});
