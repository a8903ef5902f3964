import { type FhirResource, isRecord, validateResourceStructure } from '@concordia/fhir';
import { describe, expect, it } from 'vitest';
import { demoDataSet } from '../../src/demo/demo-data-set.ts';

function entriesOf(bundle: FhirResource): { fullUrl?: unknown; resource: FhirResource; request: unknown }[] {
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  return entries.filter(isRecord).map((entry) => {
    const resource = entry.resource;
    if (!isRecord(resource) || typeof resource.resourceType !== 'string')
      throw new Error('entry without resource');
    return {
      fullUrl: entry.fullUrl,
      resource: { ...resource, resourceType: resource.resourceType },
      request: entry.request,
    };
  });
}

const set = demoDataSet();
const bundles = [set.directory, ...set.patients];
const resources = bundles.flatMap((bundle) => entriesOf(bundle).map((entry) => entry.resource));
const ofType = (type: string) => resources.filter((resource) => resource.resourceType === type);

function codingSystems(resource: FhirResource, element: string): string[] {
  const concept = resource[element];
  if (!isRecord(concept) || !Array.isArray(concept.coding)) return [];
  return concept.coding.filter(isRecord).map((coding) => String(coding.system));
}

describe('the demo data set', () => {
  it('is the same on every run', () => {
    expect(JSON.stringify(demoDataSet())).toBe(JSON.stringify(set));
  });

  it('has a hospital, a primary-care clinic and a lab, six practitioners with roles and 25 patients', () => {
    expect(ofType('Organization').map((o) => o.name)).toEqual([
      'Hospital Regional de Concórdia',
      'Unidade de Saúde Familiar Ribeirinha',
      'Laboratório Central de Análises Clínicas',
    ]);
    expect(ofType('Practitioner')).toHaveLength(6);
    expect(ofType('PractitionerRole')).toHaveLength(6);
    expect(ofType('Patient')).toHaveLength(25);
    for (const type of [
      'Encounter',
      'Condition',
      'Observation',
      'AllergyIntolerance',
      'MedicationRequest',
      'Immunization',
    ]) {
      expect(ofType(type).length, type).toBeGreaterThan(5);
    }
  });

  it('is valid FHIR R4 structure, resource by resource and Bundle by Bundle', () => {
    const problems = [...bundles, ...resources].flatMap((resource) =>
      validateResourceStructure(resource).map((issue) => `${resource.resourceType}: ${issue.diagnostics}`),
    );
    expect(problems).toEqual([]);
  });

  it('loads each patient as one transaction whose entries refer to each other by urn:uuid', () => {
    for (const bundle of set.patients) {
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
      const entries = entriesOf(bundle);
      const fullUrls = new Set(entries.map((entry) => entry.fullUrl));
      expect(
        [...fullUrls].every((url) => typeof url === 'string' && /^urn:uuid:[0-9a-f-]{36}$/.test(url)),
      ).toBe(true);
      expect(fullUrls.size).toBe(entries.length);
      const references = JSON.stringify(bundle).match(/"reference":"urn:uuid:[^"]+"/g) ?? [];
      for (const reference of references) expect(fullUrls.has(reference.slice(13, -1))).toBe(true);
    }
  });

  it('identifies patients nationally and at the hospital, with accented and Cyrillic names', () => {
    const patients = ofType('Patient');
    const text = JSON.stringify(patients);
    expect(text).toContain('https://concordia.example/national-id');
    expect(text).toContain('urn:oid:2.999.1.1');
    expect(text).toContain('Gonçalves');
    expect(text).toContain('Шевченко');
    expect(
      patients.every(
        (p) => typeof p.birthDate === 'string' && Array.isArray(p.address) && Array.isArray(p.telecom),
      ),
    ).toBe(true);
  });

  it('codes every Condition in both ICD-10 and ICPC-2', () => {
    for (const condition of ofType('Condition')) {
      expect(codingSystems(condition, 'code')).toEqual([
        'http://hl7.org/fhir/sid/icd-10',
        'http://hl7.org/fhir/sid/icpc-2',
      ]);
    }
  });

  it('codes vital signs in LOINC with UCUM quantities', () => {
    const vitals = ofType('Observation').filter((o) => JSON.stringify(o.category).includes('vital-signs'));
    expect(vitals.length).toBeGreaterThan(50);
    for (const observation of vitals) {
      expect(codingSystems(observation, 'code')).toEqual(['http://loinc.org']);
      expect(JSON.stringify(observation.valueQuantity ?? observation.component)).toContain(
        '"system":"http://unitsofmeasure.org"',
      );
    }
  });
});
