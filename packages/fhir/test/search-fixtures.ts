/** Typed builders for the search tests: small, spec-shaped resources with what each test varies. */
import type { FhirResource } from '../src/resource.ts';

export function patient(overrides: Partial<FhirResource> = {}): FhirResource {
  return {
    resourceType: 'Patient',
    id: 'pat-1',
    meta: { tag: [{ system: 'http://concordia.example/tags', code: 'imported' }] },
    identifier: [
      { system: 'urn:oid:2.16.756.5.32', value: '7560000000001' },
      { type: { text: 'MRN' }, system: 'http://hospital.example/mrn', value: 'MRN-42' },
    ],
    active: true,
    name: [
      { use: 'official', family: 'Müller-Lüdenscheidt', given: ['Anna  Maria', 'Zoë'], prefix: ['Dr.'] },
      { use: 'nickname', text: 'Annie' },
    ],
    telecom: [
      { system: 'phone', value: '+41 22 123 45 67', use: 'home' },
      { system: 'email', value: 'anna@example.org' },
    ],
    gender: 'female',
    birthDate: '1980-04-01',
    address: [
      {
        line: ['Rue de Genève 12', 'Case postale 4'],
        city: 'Genève',
        district: 'Eaux-Vives',
        state: 'GE',
        postalCode: '1207',
        country: 'CH',
      },
    ],
    generalPractitioner: [{ reference: 'Practitioner/gp-1' }],
    managingOrganization: { reference: 'Organization/org-1' },
    ...overrides,
  };
}

export function observation(overrides: Partial<FhirResource> = {}): FhirResource {
  return {
    resourceType: 'Observation',
    id: 'obs-1',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: {
      coding: [
        { system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' },
        { system: 'http://snomed.info/sct', code: '75367002' },
      ],
    },
    subject: { reference: 'Patient/pat-1' },
    encounter: { reference: 'Encounter/enc-1' },
    performer: [{ reference: 'Practitioner/gp-1' }, { reference: 'Patient/pat-1' }],
    effectiveDateTime: '2024-03-01T10:00:00Z',
    component: [
      {
        code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
        valueQuantity: { value: 120, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      },
      {
        code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
        valueQuantity: { value: 80, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
      },
    ],
    ...overrides,
  };
}

export function encounter(overrides: Partial<FhirResource> = {}): FhirResource {
  return {
    resourceType: 'Encounter',
    id: 'enc-1',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: 'http://snomed.info/sct', code: '185349003' }] }],
    subject: { reference: 'Patient/pat-1' },
    participant: [{ individual: { reference: 'Practitioner/gp-1' } }],
    serviceProvider: { reference: 'Organization/org-1' },
    ...overrides,
  };
}

export function organization(overrides: Partial<FhirResource> = {}): FhirResource {
  return {
    resourceType: 'Organization',
    id: 'org-1',
    identifier: [{ system: 'urn:oid:2.51.1.3', value: '7601000000000' }],
    name: 'Hôpitaux Universitaires de Genève',
    alias: ['HUG'],
    ...overrides,
  };
}
