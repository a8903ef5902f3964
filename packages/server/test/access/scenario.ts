/**
 * One small world of relationships for the access matrix: four patients, a family doctor's
 * declarations (one of them denied by the patient's Consent), encounters of two organizations,
 * a referral, a proxy's grant, prescriptions. `EXPECTED` is what each role may reach, written out
 * by hand from the rules of issue 6 (not computed by the code under test).
 */
import type { FhirResource } from '@concordia/fhir';
import type { Role } from '../../src/access/roles.ts';
import { PATIENT_SCOPE } from './access-app.ts';
import {
  allergy,
  consent,
  declaration,
  encounter,
  observation,
  prescription,
  referral,
} from './access-fixtures.ts';

export const SCENARIO: FhirResource[] = [
  { resourceType: 'Organization', id: 'org-clinic', name: 'Clinic' },
  { resourceType: 'Organization', id: 'org-hospital', name: 'Hospital' },
  { resourceType: 'Practitioner', id: 'doc', name: [{ family: 'Doctor' }] },
  { resourceType: 'Practitioner', id: 'spec', name: [{ family: 'Specialist' }] },
  { resourceType: 'Medication', id: 'med-1', code: { text: 'Amoxicillin' } },
  {
    resourceType: 'Patient',
    id: 'pat-a',
    name: [{ family: 'Alpha' }],
    gender: 'female',
    birthDate: '1970-01-01',
    telecom: [{ system: 'phone', value: '+380 44 000 0000' }],
    address: [{ city: 'Kyiv' }],
  },
  { resourceType: 'Patient', id: 'pat-b', name: [{ family: 'Bravo' }] },
  { resourceType: 'Patient', id: 'pat-c', name: [{ family: 'Charlie' }] },
  { resourceType: 'Patient', id: 'pat-d', name: [{ family: 'Delta' }] },
  declaration({ id: 'decl-a', patient: 'pat-a', practitioner: 'doc', organization: 'org-clinic' }),
  declaration({ id: 'decl-c', patient: 'pat-c', practitioner: 'doc', organization: 'org-clinic' }),
  consent({ id: 'deny-c', patient: 'pat-c', actor: 'Practitioner/doc', type: 'deny' }),
  encounter({ id: 'enc-a1', patient: 'pat-a', participant: 'doc', serviceProvider: 'org-clinic' }),
  encounter({ id: 'enc-a2', patient: 'pat-a', participant: 'spec', serviceProvider: 'org-hospital' }),
  encounter({ id: 'enc-b1', patient: 'pat-b', serviceProvider: 'org-hospital' }),
  encounter({ id: 'enc-d', patient: 'pat-d' }),
  observation({ id: 'obs-a1', patient: 'pat-a', encounter: 'enc-a1' }),
  observation({ id: 'obs-a2', patient: 'pat-a', encounter: 'enc-a2' }),
  observation({ id: 'obs-b1', patient: 'pat-b', encounter: 'enc-b1' }),
  observation({ id: 'obs-c1', patient: 'pat-c' }),
  observation({ id: 'obs-d', patient: 'pat-d', encounter: 'enc-d' }),
  allergy({ id: 'alg-a', patient: 'pat-a' }),
  allergy({ id: 'alg-b', patient: 'pat-b' }),
  prescription({ id: 'rx-a', patient: 'pat-a', number: 'RX-1' }),
  prescription({ id: 'rx-b', patient: 'pat-b', number: 'RX-2' }),
  referral({ id: 'sr-d', patient: 'pat-d', performer: 'spec', encounter: 'enc-d' }),
  {
    resourceType: 'RelatedPerson',
    id: 'rp-1',
    patient: { reference: 'Patient/pat-a' },
    name: [{ family: 'Proxy' }],
  },
  consent({ id: 'grant-a', patient: 'pat-a', actor: 'RelatedPerson/rp-1', type: 'permit' }),
];

/** Resources outside the Patient compartment: every authenticated principal reads them. */
export const SHARED = [
  'Organization/org-clinic',
  'Organization/org-hospital',
  'Practitioner/doc',
  'Practitioner/spec',
  'Medication/med-1',
];

/** Every patient-specific resource of the scenario. */
export const PATIENT_DATA = SCENARIO.map((r) => `${r.resourceType}/${String(r.id)}`).filter(
  (ref) => !SHARED.includes(ref),
);

const COMPARTMENT_A = [
  'Patient/pat-a',
  'EpisodeOfCare/decl-a',
  'Encounter/enc-a1',
  'Encounter/enc-a2',
  'Observation/obs-a1',
  'Observation/obs-a2',
  'AllergyIntolerance/alg-a',
  'MedicationRequest/rx-a',
  'RelatedPerson/rp-1',
  'Consent/grant-a',
];
const COMPARTMENT_B = [
  'Patient/pat-b',
  'Encounter/enc-b1',
  'Observation/obs-b1',
  'AllergyIntolerance/alg-b',
  'MedicationRequest/rx-b',
];

export interface RoleCase {
  name: string;
  user?: { roles: Role[]; fhirUser?: string; organization?: string; scope?: string; launchPatient?: string };
  client?: { organization: string };
  /** Patient-specific resources this principal may read (`Type/id`). */
  sees: string[];
  headers?: Record<string, string>;
  /**
   * The token holds `patient/` scopes for this patient: the scope check (scope-decision.ts) refuses
   * with 403 whatever does not show it stays in that record, before the access decision runs.
   */
  scopePatient?: string;
}

export const ROLE_CASES: RoleCase[] = [
  // Declared with pat-a and pat-c; pat-c's Consent denies the doctor.
  {
    name: 'family doctor',
    user: { roles: ['family-doctor'], fhirUser: 'Practitioner/doc', organization: 'Organization/org-clinic' },
    sees: COMPARTMENT_A,
  },
  // Takes part in enc-a2, was referred pat-d (sr-d → enc-d); safety data of pat-a and pat-d.
  {
    name: 'specialist',
    user: { roles: ['specialist'], fhirUser: 'Practitioner/spec', organization: 'Organization/org-hospital' },
    sees: [
      'Encounter/enc-a2',
      'Observation/obs-a2',
      'ServiceRequest/sr-d',
      'Encounter/enc-d',
      'Observation/obs-d',
      'Patient/pat-a',
      'Patient/pat-d',
      'AllergyIntolerance/alg-a',
      'MedicationRequest/rx-a',
    ],
  },
  // The clinic's encounter enc-a1, what refers to it, and its patient.
  {
    name: 'nurse',
    user: { roles: ['nurse'], fhirUser: 'Practitioner/nurse', organization: 'Organization/org-clinic' },
    sees: ['Encounter/enc-a1', 'Observation/obs-a1', 'Patient/pat-a'],
  },
  // Nothing except through a prescription identifier (tested on its own).
  {
    name: 'pharmacist',
    user: { roles: ['pharmacist'], fhirUser: 'Practitioner/pharm', organization: 'Organization/org-clinic' },
    sees: [],
  },
  {
    name: 'patient',
    user: { roles: ['patient'], fhirUser: 'Patient/pat-b', scope: PATIENT_SCOPE },
    sees: COMPARTMENT_B,
    scopePatient: 'pat-b',
  },
  // pat-a granted their whole record (a grant narrowed to resource types: access-rules.test.ts).
  {
    name: 'proxy',
    user: { roles: ['proxy'], fhirUser: 'RelatedPerson/rp-1', scope: PATIENT_SCOPE, launchPatient: 'pat-a' },
    sees: COMPARTMENT_A,
    scopePatient: 'pat-a',
  },
  { name: 'statistician', user: { roles: ['statistician'] }, sees: [] },
  { name: 'administrator', user: { roles: ['administrator'] }, sees: [] },
  {
    name: 'emergency without break-the-glass',
    user: { roles: ['emergency'], fhirUser: 'Practitioner/er' },
    sees: [],
  },
  {
    name: 'emergency with break-the-glass',
    user: { roles: ['emergency'], fhirUser: 'Practitioner/er' },
    sees: PATIENT_DATA,
    headers: {
      'x-purpose-of-use': 'ETREAT',
      'x-break-glass-reason': 'Unconscious patient in the emergency room',
    },
  },
  // The hospital's patients: pat-a (enc-a2) and pat-b (enc-b1), whole compartments.
  {
    name: 'system client of the hospital',
    client: { organization: 'Organization/org-hospital' },
    sees: [...COMPARTMENT_A, ...COMPARTMENT_B],
  },
];
