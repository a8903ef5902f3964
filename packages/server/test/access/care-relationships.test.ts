/**
 * Relationships a practitioner has through a PractitionerRole or a CareTeam, and Consents with
 * nested provisions and periods (access/consent-provisions.ts), through the real HTTP door with
 * real tokens, on PGlite and PostgreSQL. Each principal has its own patients, so the cases do not
 * see each other.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { type AccessTestApp, createAccessTestApp } from './access-app.ts';
import {
  allergy,
  careTeam,
  consent,
  declaration,
  encounter,
  episodeOfCare,
  observation,
  practitionerRole,
  referral,
} from './access-fixtures.ts';

const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };
const PAST = { start: '2019-01-01', end: '2020-12-31' };
const SINCE_2020 = { start: '2020' };

const patient = (id: string): FhirResource => ({ resourceType: 'Patient', id, name: [{ family: id }] });

/** A specialist, `spec-r`, who acts through PractitionerRoles (one active, one ended, one inactive). */
const ROLES: FhirResource[] = [
  ...['pat-r', 'pat-s', 'pat-q'].map(patient),
  practitionerRole({ id: 'role-r', practitioner: 'spec-r', organization: 'org-h', period: SINCE_2020 }),
  practitionerRole({ id: 'role-r-ended', practitioner: 'spec-r', period: PAST }),
  practitionerRole({ id: 'role-r-inactive', practitioner: 'spec-r', active: false }),
  encounter({ id: 'enc-r', patient: 'pat-r', participant: 'PractitionerRole/role-r' }),
  observation({ id: 'obs-r', patient: 'pat-r', encounter: 'enc-r' }),
  encounter({ id: 'enc-s-ended', patient: 'pat-s', participant: 'PractitionerRole/role-r-ended' }),
  encounter({ id: 'enc-s-inactive', patient: 'pat-s', participant: 'PractitionerRole/role-r-inactive' }),
  observation({ id: 'obs-s', patient: 'pat-s', encounter: 'enc-s-ended' }),
  referral({ id: 'sr-q', patient: 'pat-q', performer: 'PractitionerRole/role-r' }),
  episodeOfCare({ id: 'eoc-q', patient: 'pat-q', careManager: 'PractitionerRole/role-r' }),
  encounter({ id: 'enc-q', patient: 'pat-q', episode: 'eoc-q' }),
  observation({ id: 'obs-q', patient: 'pat-q', encounter: 'enc-q' }),
];

/** A specialist, `spec-t`, in CareTeams: directly, through a role, one ended, one inactive team. */
const TEAMS: FhirResource[] = [
  ...['pat-t', 'pat-u', 'pat-v'].map(patient),
  practitionerRole({ id: 'role-t', practitioner: 'spec-t' }),
  encounter({ id: 'enc-t', patient: 'pat-t' }),
  observation({ id: 'obs-t', patient: 'pat-t', encounter: 'enc-t' }),
  careTeam({
    id: 'ct-t',
    patient: 'pat-t',
    encounter: 'enc-t',
    members: [{ reference: 'Practitioner/spec-t' }],
  }),
  careTeam({
    id: 'ct-u',
    patient: 'pat-u',
    members: [{ reference: 'PractitionerRole/role-t', period: SINCE_2020 }],
  }),
  episodeOfCare({ id: 'eoc-u', patient: 'pat-u', team: 'CareTeam/ct-u' }),
  encounter({ id: 'enc-u', patient: 'pat-u', episode: 'eoc-u' }),
  observation({ id: 'obs-u', patient: 'pat-u', encounter: 'enc-u' }),
  allergy({ id: 'alg-u', patient: 'pat-u' }),
  encounter({ id: 'enc-v', patient: 'pat-v' }),
  encounter({ id: 'enc-v2', patient: 'pat-v' }),
  observation({ id: 'obs-v', patient: 'pat-v', encounter: 'enc-v' }),
  careTeam({
    id: 'ct-v-ended',
    patient: 'pat-v',
    encounter: 'enc-v',
    members: [{ reference: 'Practitioner/spec-t', period: PAST }],
  }),
  careTeam({
    id: 'ct-v-inactive',
    patient: 'pat-v',
    encounter: 'enc-v2',
    status: 'inactive',
    members: [{ reference: 'Practitioner/spec-t' }],
  }),
  // A team the patient's Consent denies: its members see nothing through it.
  patient('pat-k'),
  encounter({ id: 'enc-k', patient: 'pat-k' }),
  careTeam({
    id: 'ct-k',
    patient: 'pat-k',
    encounter: 'enc-k',
    members: [{ reference: 'Practitioner/spec-t' }],
  }),
  consent({ id: 'c-k', patient: 'pat-k', actor: 'CareTeam/ct-k', type: 'deny' }),
];

/** A nurse, `nurse-w`, whose token names no organization: their PractitionerRoles do. */
const WARDS: FhirResource[] = [
  ...['pat-w', 'pat-x'].map(patient),
  { resourceType: 'Organization', id: 'org-w', name: 'Ward W' },
  practitionerRole({ id: 'role-w', practitioner: 'nurse-w', organization: 'org-w' }),
  practitionerRole({ id: 'role-w-ended', practitioner: 'nurse-w', organization: 'org-x', period: PAST }),
  encounter({ id: 'enc-w', patient: 'pat-w', serviceProvider: 'org-w' }),
  observation({ id: 'obs-w', patient: 'pat-w', encounter: 'enc-w' }),
  encounter({ id: 'enc-x', patient: 'pat-x', serviceProvider: 'org-x' }),
];

/** A family doctor, `doc-n`, declared with every pat-n*, whose Consents say more than deny/permit. */
const NESTED: FhirResource[] = [
  ...['pat-n1', 'pat-n2', 'pat-n3', 'pat-n4', 'pat-n5', 'pat-n6', 'pat-n7'].flatMap((id) => [
    patient(id),
    declaration({ id: `decl-${id}`, patient: id, practitioner: 'doc-n' }),
    observation({ id: `obs-${id}`, patient: id }),
    allergy({ id: `alg-${id}`, patient: id }),
  ]),
  practitionerRole({ id: 'role-n', practitioner: 'doc-n' }),
  { ...observation({ id: 'obs-pat-n2-psy', patient: 'pat-n2' }), meta: { security: [PSY] } },
  // Deny doc-n everything except allergies.
  consent({
    id: 'c-n1',
    patient: 'pat-n1',
    actor: 'Practitioner/doc-n',
    type: 'deny',
    provisions: [{ type: 'permit', classes: ['AllergyIntolerance'] }],
  }),
  // Permit everyone, but deny doc-n the mental-health label.
  consent({
    id: 'c-n2',
    patient: 'pat-n2',
    type: 'permit',
    provisions: [{ type: 'deny', actors: ['Practitioner/doc-n'], securityLabels: [PSY] }],
  }),
  // A deny whose period has ended.
  consent({ id: 'c-n3', patient: 'pat-n3', actor: 'Practitioner/doc-n', type: 'deny', period: PAST }),
  // A deny that has not started yet.
  consent({
    id: 'c-n4',
    patient: 'pat-n4',
    actor: 'Practitioner/doc-n',
    type: 'deny',
    period: { start: '2999-01-01' },
  }),
  // An exception whose period has ended: the deny stands whole.
  consent({
    id: 'c-n5',
    patient: 'pat-n5',
    actor: 'Practitioner/doc-n',
    type: 'deny',
    provisions: [{ type: 'permit', classes: ['Observation'], period: PAST }],
  }),
  // A deny of one resource type.
  consent({
    id: 'c-n6',
    patient: 'pat-n6',
    actor: 'Practitioner/doc-n',
    type: 'deny',
    classes: ['Observation'],
  }),
  // A deny naming the doctor's PractitionerRole.
  consent({ id: 'c-n7', patient: 'pat-n7', actor: 'PractitionerRole/role-n', type: 'deny' }),
  // Declarations whose careManager is one of the doctor's PractitionerRoles: active, ended.
  practitionerRole({ id: 'role-n-ended', practitioner: 'doc-n', period: PAST }),
  ...['pat-n8', 'pat-n9'].map(patient),
  declaration({ id: 'decl-pat-n8', patient: 'pat-n8', practitioner: 'PractitionerRole/role-n' }),
  declaration({ id: 'decl-pat-n9', patient: 'pat-n9', practitioner: 'PractitionerRole/role-n-ended' }),
  observation({ id: 'obs-pat-n8', patient: 'pat-n8' }),
  observation({ id: 'obs-pat-n9', patient: 'pat-n9' }),
];

function ids(body: string): string[] {
  const bundle = JSON.parse(body) as { entry?: { resource: { resourceType: string; id: string } }[] };
  return (bundle.entry ?? []).map((entry) => `${entry.resource.resourceType}/${entry.resource.id}`).sort();
}

describe.each(testDatabases())('care relationships and nested Consents on $name', (database) => {
  let t: AccessTestApp;
  let roleSpecialist = '';
  let teamSpecialist = '';
  let doctor = '';
  let nurse = '';

  beforeAll(async () => {
    t = await createAccessTestApp(database);
    await t.put([...ROLES, ...TEAMS, ...WARDS, ...NESTED]);
    roleSpecialist = await t.signIn({
      username: 'spec-r',
      roles: ['specialist'],
      fhirUser: 'Practitioner/spec-r',
    });
    teamSpecialist = await t.signIn({
      username: 'spec-t',
      roles: ['specialist'],
      fhirUser: 'Practitioner/spec-t',
    });
    doctor = await t.signIn({ username: 'doc-n', roles: ['family-doctor'], fhirUser: 'Practitioner/doc-n' });
    nurse = await t.signIn({ username: 'nurse-w', roles: ['nurse'], fhirUser: 'Practitioner/nurse-w' });
  }, 300_000);
  afterAll(() => t.close());

  const get = (token: string, url: string) =>
    t.app.inject({ method: 'GET', url, headers: { authorization: token } });
  const found = async (token: string, url: string) => {
    const response = await get(token, url);
    expect(response.statusCode, response.body).toBe(200);
    return ids(response.body);
  };

  it('counts a reference to an active PractitionerRole of the practitioner as them (PractitionerRole.period, .active)', async () => {
    expect(await found(roleSpecialist, '/fhir/Encounter?_count=100')).toEqual([
      'Encounter/enc-q',
      'Encounter/enc-r',
    ]);
    expect(await found(roleSpecialist, '/fhir/Observation?_count=100')).toEqual([
      'Observation/obs-q',
      'Observation/obs-r',
    ]);
    expect(await found(roleSpecialist, '/fhir/ServiceRequest')).toEqual(['ServiceRequest/sr-q']);
    // EpisodeOfCare.careManager as a PractitionerRole is not indexed by `care-manager` in R4.
    expect(await found(roleSpecialist, '/fhir/EpisodeOfCare')).toEqual(['EpisodeOfCare/eoc-q']);
    expect(await found(roleSpecialist, '/fhir/Patient')).toEqual(['Patient/pat-q', 'Patient/pat-r']);
    for (const hidden of [
      'Encounter/enc-s-ended',
      'Encounter/enc-s-inactive',
      'Observation/obs-s',
      'Patient/pat-s',
    ]) {
      expect((await get(roleSpecialist, `/fhir/${hidden}`)).statusCode, hidden).toBe(404);
    }
  });

  it('gives an active participant of an active CareTeam its encounter and the episodes whose team it is', async () => {
    expect(await found(teamSpecialist, '/fhir/Encounter?_count=100')).toEqual([
      'Encounter/enc-t',
      'Encounter/enc-u',
    ]);
    expect(await found(teamSpecialist, '/fhir/Observation?_count=100')).toEqual([
      'Observation/obs-t',
      'Observation/obs-u',
    ]);
    expect(await found(teamSpecialist, '/fhir/EpisodeOfCare')).toEqual(['EpisodeOfCare/eoc-u']);
    // The same reach as the episode rules: the patients' safety data.
    expect(await found(teamSpecialist, '/fhir/AllergyIntolerance')).toEqual(['AllergyIntolerance/alg-u']);
    expect(await found(teamSpecialist, '/fhir/Patient')).toEqual(['Patient/pat-t', 'Patient/pat-u']);
  });

  it('gives nothing through a CareTeam that is not active or whose participant.period has ended', async () => {
    for (const hidden of ['Encounter/enc-v', 'Encounter/enc-v2', 'Observation/obs-v', 'Patient/pat-v']) {
      expect((await get(teamSpecialist, `/fhir/${hidden}`)).statusCode, hidden).toBe(404);
    }
  });

  it('applies a deny naming a CareTeam to its members', async () => {
    expect((await get(teamSpecialist, '/fhir/Encounter/enc-k')).statusCode).toBe(404);
    expect((await get(teamSpecialist, '/fhir/Patient/pat-k')).statusCode).toBe(404);
  });

  it('gives a nurse the encounters of the organizations of their active PractitionerRoles', async () => {
    expect(await found(nurse, '/fhir/Encounter')).toEqual(['Encounter/enc-w']);
    expect(await found(nurse, '/fhir/Observation')).toEqual(['Observation/obs-w']);
    expect(await found(nurse, '/fhir/Patient')).toEqual(['Patient/pat-w']);
    expect((await get(nurse, '/fhir/Encounter/enc-x')).statusCode).toBe(404);
  });

  it('honours a deny with a nested permit: everything denied except allergies (consent.html#Consent.provision)', async () => {
    expect((await get(doctor, '/fhir/Patient/pat-n1/$everything')).statusCode).toBe(404);
    expect((await get(doctor, '/fhir/Patient/pat-n1')).statusCode).toBe(404);
    expect(await found(doctor, '/fhir/AllergyIntolerance?patient=Patient/pat-n1')).toEqual([
      'AllergyIntolerance/alg-pat-n1',
    ]);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-n1')).toEqual([]);
  });

  it('honours a permit with a nested deny of a security label for one actor', async () => {
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-n2')).toEqual([
      'Observation/obs-pat-n2',
    ]);
    expect((await get(doctor, '/fhir/Observation/obs-pat-n2-psy')).statusCode).toBe(404);
    expect((await get(doctor, '/fhir/Patient/pat-n2')).statusCode).toBe(200);
  });

  it('ignores a provision whose period does not cover now (Consent.provision.period; R4 has no Consent.period)', async () => {
    for (const patientId of ['pat-n3', 'pat-n4']) {
      expect((await get(doctor, `/fhir/Patient/${patientId}`)).statusCode, patientId).toBe(200);
      expect(await found(doctor, `/fhir/Observation?subject=Patient/${patientId}`)).toEqual([
        `Observation/obs-${patientId}`,
      ]);
    }
  });

  it('keeps the whole deny when its nested exception’s period has ended', async () => {
    expect((await get(doctor, '/fhir/Patient/pat-n5')).statusCode).toBe(404);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-n5')).toEqual([]);
  });

  it('denies only the resource types a deny lists in provision.class', async () => {
    expect((await get(doctor, '/fhir/Patient/pat-n6')).statusCode).toBe(200);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-n6')).toEqual([]);
    expect(await found(doctor, '/fhir/AllergyIntolerance?patient=Patient/pat-n6')).toEqual([
      'AllergyIntolerance/alg-pat-n6',
    ]);
  });

  it('applies a deny naming the practitioner’s PractitionerRole to them', async () => {
    expect((await get(doctor, '/fhir/Patient/pat-n7')).statusCode).toBe(404);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-n7')).toEqual([]);
  });

  it('counts a declaration whose careManager is an active PractitionerRole of the doctor as one with them (EpisodeOfCare.careManager)', async () => {
    expect((await get(doctor, '/fhir/Patient/pat-n8')).statusCode).toBe(200);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-n8')).toEqual([
      'Observation/obs-pat-n8',
    ]);
    // A role whose period has ended is no longer theirs.
    expect((await get(doctor, '/fhir/Patient/pat-n9')).statusCode).toBe(404);
    expect(await found(doctor, '/fhir/Observation?subject=Patient/pat-n9')).toEqual([]);
  });

  it('searches the patients a nested Consent leaves whole, and counts only what it allows', async () => {
    const response = await get(doctor, '/fhir/Patient?_count=100&_total=accurate');
    expect(ids(response.body)).toEqual(
      ['pat-n2', 'pat-n3', 'pat-n4', 'pat-n6', 'pat-n8'].map((id) => `Patient/${id}`),
    );
    expect(JSON.parse(response.body).total).toBe(5);
  });

  // Writes: last, so the tests above see the data as it was.
  it('takes a CareTeam membership away on the next request once the participant leaves', async () => {
    expect((await get(teamSpecialist, '/fhir/Encounter/enc-t')).statusCode).toBe(200);
    await t.put([
      careTeam({
        id: 'ct-t',
        patient: 'pat-t',
        encounter: 'enc-t',
        members: [{ reference: 'Practitioner/spec-t', period: PAST }],
      }),
    ]);
    expect((await get(teamSpecialist, '/fhir/Encounter/enc-t')).statusCode).toBe(404);
  });
});
