/**
 * Shaping a resource for `_summary` and `_elements` — http://hl7.org/fhir/R4/search.html#summary
 * and #elements.
 */
import { describe, expect, it } from 'vitest';
import {
  applySummary,
  FhirError,
  type FhirResource,
  parseElementsParameter,
  parseSummaryMode,
  SUBSETTED_TAG,
  selectElements,
} from '../src/index.ts';

const observation: FhirResource = {
  resourceType: 'Observation',
  id: 'o1',
  meta: { versionId: '2', tag: [{ system: 'http://example.org/tags', code: 'keep' }] },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Hb 13</div>' },
  status: 'final',
  category: [{ text: 'laboratory' }],
  code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
  subject: { reference: 'Patient/p1' },
  valueQuantity: { value: 13, unit: 'g/dL' },
  interpretation: [{ text: 'normal' }],
  referenceRange: [{ low: { value: 12 }, text: '12-16' }],
  component: [{ id: 'c1', code: { text: 'part' }, valueString: 'x', interpretation: [{ text: 'n' }] }],
};

function tags(resource: FhirResource) {
  return resource.meta?.tag ?? [];
}

describe('_summary (search.html#summary)', () => {
  it('true keeps summary, mandatory and modifier elements, drilling into backbone elements', () => {
    const shaped = applySummary(observation, 'true');
    expect(Object.keys(shaped).sort()).toEqual([
      'code',
      'component',
      'id',
      'meta',
      'resourceType',
      'status',
      'subject',
      'valueQuantity',
    ]);
    // Observation.component.interpretation and .id are not summary elements in R4.
    expect(shaped.component).toEqual([{ code: { text: 'part' }, valueString: 'x' }]);
    // Datatype values are kept whole.
    expect(shaped.code).toEqual(observation.code);
  });

  it('true keeps a top-level modifier extension even though it is not marked summary', () => {
    const patient = {
      resourceType: 'Patient',
      id: 'p',
      modifierExtension: [{ url: 'u', valueBoolean: true }],
      photo: [{}],
    };
    expect(applySummary(patient, 'true')).toMatchObject({ modifierExtension: patient.modifierExtension });
    expect(applySummary(patient, 'true').photo).toBeUndefined();
  });

  it('text keeps text, id, meta and top-level mandatory elements', () => {
    const shaped = applySummary(observation, 'text');
    expect(Object.keys(shaped).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status', 'text']);
  });

  it('data removes only text', () => {
    const { text: _text, meta: _meta, ...rest } = observation;
    expect(applySummary(observation, 'data')).toMatchObject(rest);
    expect(applySummary(observation, 'data').text).toBeUndefined();
  });

  it('false returns the resource unchanged and untagged', () => {
    expect(applySummary(observation, 'false')).toEqual(observation);
  });

  it('tags every subset SUBSETTED, keeping existing tags and never tagging twice', () => {
    for (const mode of ['true', 'text', 'data'] as const) {
      const shaped = applySummary(observation, mode);
      expect(tags(shaped)).toEqual([{ system: 'http://example.org/tags', code: 'keep' }, SUBSETTED_TAG]);
      expect(tags(applySummary(shaped, mode))).toHaveLength(2);
    }
  });

  it('count is refused for a single resource, and unknown modes are a 400', () => {
    expect(() => applySummary(observation, 'count')).toThrow(FhirError);
    expect(parseSummaryMode('text')).toBe('text');
    expect(() => parseSummaryMode('yes')).toThrow(/_summary must be one of/);
  });

  it('never mutates the resource it is given', () => {
    const before = structuredClone(observation);
    applySummary(observation, 'true');
    applySummary(observation, 'data');
    expect(observation).toEqual(before);
  });
});

describe('_elements (search.html#elements)', () => {
  it('keeps the listed top-level elements plus mandatory ones, id, meta and resourceType', () => {
    const shaped = selectElements(observation, parseElementsParameter('subject,interpretation'));
    expect(Object.keys(shaped).sort()).toEqual([
      'code',
      'id',
      'interpretation',
      'meta',
      'resourceType',
      'status',
      'subject',
    ]);
    expect(tags(shaped)).toContainEqual(SUBSETTED_TAG);
  });

  it('selects a choice element by its name (value → valueQuantity) and accepts a type prefix', () => {
    expect(selectElements(observation, ['value']).valueQuantity).toEqual(observation.valueQuantity);
    expect(selectElements(observation, ['Observation.subject']).subject).toEqual(observation.subject);
  });

  it('does not mistake an element for a choice of another (status does not select statusReason)', () => {
    const request = {
      resourceType: 'MedicationRequest',
      id: 'm',
      status: 'active',
      statusReason: { text: 'x' },
      intent: 'order',
    };
    expect(selectElements(request, ['status']).statusReason).toBeUndefined();
  });

  it('answers 400 for a malformed list', () => {
    expect(() => parseElementsParameter('name,,id')).toThrow(FhirError);
    expect(() => parseElementsParameter('name.family')).toThrow(/not an element name/);
  });
});
