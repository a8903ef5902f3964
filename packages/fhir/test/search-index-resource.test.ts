import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { patientCompartmentDefinition } from '../src/search/compartments.ts';
import { r4ResourceTypes } from '../src/search/fhir-model.ts';
import { indexResource, ResourceIndexer } from '../src/search/index-resource.ts';
import type { ResourceIndex } from '../src/search/index-types.ts';
import { createR4SearchParameterRegistry } from '../src/search/search-parameters.ts';
import { encounter, observation, organization, patient } from './search-fixtures.ts';
import { requireSharedData } from './support/shared-data.ts';

function tokens(index: ResourceIndex, param: string) {
  return index.tokens.filter((entry) => entry.param === param).map(({ system, code }) => ({ system, code }));
}

function strings(index: ResourceIndex, param: string) {
  return index.strings.filter((entry) => entry.param === param).map(({ value }) => value);
}

function references(index: ResourceIndex, param: string) {
  return index.references
    .filter((entry) => entry.param === param)
    .map(({ targetType, targetId }) => `${targetType}/${targetId}`);
}

describe('token parameters (search.html#token)', () => {
  it('index an Identifier as system|value', () => {
    expect(tokens(indexResource(patient()), 'identifier')).toEqual([
      { system: 'urn:oid:2.16.756.5.32', code: '7560000000001' },
      { system: 'http://hospital.example/mrn', code: 'MRN-42' },
    ]);
  });

  it('index a ContactPoint by value only: phone/email is not a code system', () => {
    expect(tokens(indexResource(patient()), 'telecom')).toEqual([
      { system: null, code: '+41 22 123 45 67' },
      { system: null, code: 'anna@example.org' },
    ]);
    expect(tokens(indexResource(patient()), 'email')).toEqual([{ system: null, code: 'anna@example.org' }]);
  });

  it('index every coding of a CodeableConcept', () => {
    expect(tokens(indexResource(observation()), 'code')).toEqual([
      { system: 'http://loinc.org', code: '85354-9' },
      { system: 'http://snomed.info/sct', code: '75367002' },
    ]);
    expect(tokens(indexResource(observation()), 'category')).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
    ]);
  });

  it('index a Coding as system|code', () => {
    expect(tokens(indexResource(encounter()), 'class')).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    ]);
  });

  it('index code and boolean primitives without a system, booleans as true/false', () => {
    const index = indexResource(patient());
    expect(tokens(index, 'gender')).toEqual([{ system: null, code: 'female' }]);
    expect(tokens(index, 'active')).toEqual([{ system: null, code: 'true' }]);
    expect(tokens(indexResource(observation()), 'status')).toEqual([{ system: null, code: 'final' }]);
  });

  it('index the common parameter _tag on every type, but not _id, which the resource row answers', () => {
    const index = indexResource(patient());
    expect(tokens(index, '_tag')).toEqual([{ system: 'http://concordia.example/tags', code: 'imported' }]);
    expect(tokens(index, '_id')).toEqual([]);
    expect(tokens(indexResource(organization()), '_id')).toEqual([]);
  });

  it('index repeating choice elements through `as` (component-code, component-value-concept)', () => {
    const index = indexResource(
      observation({
        component: [
          {
            code: { coding: [{ code: 'a' }] },
            valueCodeableConcept: { coding: [{ system: 's', code: 'x' }] },
          },
          {
            code: { coding: [{ code: 'b' }] },
            valueCodeableConcept: { coding: [{ system: 's', code: 'y' }] },
          },
        ],
      }),
    );
    expect(tokens(index, 'component-code')).toEqual([
      { system: null, code: 'a' },
      { system: null, code: 'b' },
    ]);
    expect(tokens(index, 'component-value-concept')).toEqual([
      { system: 's', code: 'x' },
      { system: 's', code: 'y' },
    ]);
  });

  it('skip codings without a code and identifiers without a value', () => {
    const index = indexResource(
      observation({
        code: { coding: [{ system: 'http://loinc.org' }], text: 'free text' },
        identifier: [{ system: 'x' }],
      }),
    );
    expect(tokens(index, 'code')).toEqual([]);
    expect(tokens(index, 'identifier')).toEqual([]);
  });
});

describe('string parameters (search.html#string)', () => {
  it('index each part of a HumanName, with a case-, accent- and space-folded form', () => {
    const index = indexResource(patient());
    expect(strings(index, 'name')).toEqual(['Müller-Lüdenscheidt', 'Anna  Maria', 'Zoë', 'Dr.', 'Annie']);
    expect(index.strings.find((entry) => entry.param === 'family')).toEqual({
      param: 'family',
      value: 'Müller-Lüdenscheidt',
      normalized: 'muller-ludenscheidt',
    });
    expect(index.strings.find((entry) => entry.value === 'Anna  Maria')?.normalized).toBe('anna maria');
  });

  it('index each part of an Address', () => {
    const index = indexResource(patient());
    expect(strings(index, 'address')).toEqual([
      'Rue de Genève 12',
      'Case postale 4',
      'Genève',
      'Eaux-Vives',
      'GE',
      '1207',
      'CH',
    ]);
    expect(strings(index, 'address-city')).toEqual(['Genève']);
    expect(strings(index, 'address-postalcode')).toEqual(['1207']);
  });

  it('index plain string elements', () => {
    expect(strings(indexResource(organization()), 'name')).toEqual([
      'Hôpitaux Universitaires de Genève',
      'HUG',
    ]);
  });
});

describe('reference parameters (search.html#reference)', () => {
  it('index relative references as type and id', () => {
    const index = indexResource(observation());
    expect(references(index, 'subject')).toEqual(['Patient/pat-1']);
    expect(references(index, 'encounter')).toEqual(['Encounter/enc-1']);
    expect(references(index, 'performer')).toEqual(['Practitioner/gp-1', 'Patient/pat-1']);
  });

  it('keep type and id of absolute and versioned references', () => {
    const index = indexResource(
      observation({
        subject: { reference: 'https://other.example/fhir/Patient/p-9/_history/2' },
        performer: [{ reference: 'Practitioner/gp-1/_history/1' }],
      }),
    );
    expect(references(index, 'subject')).toEqual(['Patient/p-9']);
    expect(references(index, 'performer')).toEqual(['Practitioner/gp-1']);
  });

  it('ignore urn: and logical references', () => {
    const index = indexResource(
      observation({
        performer: [
          { reference: 'urn:uuid:8c7c1d2e-5b6a-4c21-9a35-0f1c8b2d9e11' },
          { identifier: { value: 'x' } },
        ],
        encounter: { reference: 'http://example.org/not/a/fhir/url' },
      }),
    );
    expect(references(index, 'performer')).toEqual([]);
    expect(references(index, 'encounter')).toEqual([]);
  });

  it('keep contained references under their `#id`, which no search or compartment can name (references.html#contained, search.html#missing)', () => {
    const index = indexResource(
      observation({
        contained: [{ resourceType: 'Patient', id: 'p1' }],
        subject: { reference: '#p1' },
        performer: [{ reference: '#gone' }, { reference: '#' }],
      }),
    );
    expect(references(index, 'subject')).toEqual(['Patient/#p1']);
    expect(references(index, 'performer')).toEqual(['Resource/#gone', 'Observation/#']);
    expect(index.patientCompartments).toEqual([]);
  });

  it('select `where(resolve() is Patient)` only when the reference points to a Patient', () => {
    expect(references(indexResource(observation()), 'patient')).toEqual(['Patient/pat-1']);
    const aboutAGroup = indexResource(observation({ subject: { reference: 'Group/g-1' } }));
    expect(references(aboutAGroup, 'patient')).toEqual([]);
    expect(references(aboutAGroup, 'subject')).toEqual(['Group/g-1']);
    const absolute = indexResource(
      encounter({ subject: { reference: 'https://x.example/fhir/Patient/p-2' } }),
    );
    expect(references(absolute, 'patient')).toEqual(['Patient/p-2']);
  });

  it('index Encounter participants and service provider', () => {
    const index = indexResource(encounter());
    expect(references(index, 'participant')).toEqual(['Practitioner/gp-1']);
    expect(references(index, 'practitioner')).toEqual(['Practitioner/gp-1']);
    expect(references(index, 'service-provider')).toEqual(['Organization/org-1']);
  });
});

describe('the indexer', () => {
  it('compiles the token, string and reference parameters of every R4 resource type', () => {
    expect(r4ResourceTypes.size).toBe(146);
    for (const type of r4ResourceTypes) {
      expect(() => indexResource({ resourceType: type }), type).not.toThrow();
    }
  });

  it('still evaluates expressions that select something from nothing (Patient-deceased)', () => {
    // `Patient.deceased.exists() and Patient.deceased != false`: a patient without `deceased` is alive.
    expect(tokens(indexResource(patient()), 'deceased')).toEqual([{ system: null, code: 'false' }]);
    expect(tokens(indexResource(patient({ deceasedDateTime: '2020-01-01' })), 'deceased')).toEqual([
      { system: null, code: 'true' },
    ]);
  });

  it('finds choice elements under their typed JSON name (valueString)', () => {
    expect(strings(indexResource(observation({ valueString: 'Négatif' })), 'value-string')).toEqual([
      'Négatif',
    ]);
  });

  it('indexes nothing for a resource without searchable content', () => {
    expect(indexResource({ resourceType: 'Basic', id: 'b1' })).toEqual({
      tokens: [],
      strings: [],
      references: [],
      patientCompartments: [],
    });
  });

  it('indexes custom SearchParameters added to its registry (searchparameter.html)', () => {
    const registry = createR4SearchParameterRegistry();
    const indexer = new ResourceIndexer(registry, patientCompartmentDefinition());
    expect(tokens(indexer.index(patient()), 'mrn')).toEqual([]);
    registry.add({
      resourceType: 'SearchParameter',
      url: 'http://concordia.example/SearchParameter/patient-mrn',
      code: 'mrn',
      base: ['Patient'],
      type: 'token',
      expression: "Patient.identifier.where(system = 'http://hospital.example/mrn')",
    });
    expect(tokens(indexer.index(patient()), 'mrn')).toEqual([
      { system: 'http://hospital.example/mrn', code: 'MRN-42' },
    ]);
    expect(tokens(indexResource(patient()), 'mrn')).toEqual([]);
  });
});

const examplesDir = requireSharedData('fhir-r4-examples/resources');

describe.skipIf(examplesDir === null)('the official R4 examples (hl7.fhir.r4.examples 4.0.1)', () => {
  const dir = examplesDir ?? '';
  const files = examplesDir === null ? [] : readdirSync(dir).filter((file) => file.endsWith('.json'));

  it('all index without an error', () => {
    expect(files.length).toBeGreaterThan(700);
    const failures: string[] = [];
    for (const file of files) {
      try {
        indexResource(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      } catch (error) {
        failures.push(`${file}: ${String(error)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('put Observation/example about Patient/example in that patient compartment', () => {
    const example = JSON.parse(readFileSync(join(dir, 'Observation-example.json'), 'utf8'));
    expect(indexResource(example).patientCompartments).toEqual(['example']);
  });
});
