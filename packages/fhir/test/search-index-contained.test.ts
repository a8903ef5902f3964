/**
 * Contained resources in the search index (http://hl7.org/fhir/R4/search.html#contained): their
 * values are written with their container's under `#<local id>:<param>` names, which no plain
 * parameter's search compares, plus one `_contained` token naming each (system: type, code: local
 * id), so `_contained=true` can find them; they make no compartment of their own.
 */
import { describe, expect, it } from 'vitest';
import { indexResource } from '../src/search/index-resource.ts';
import { CONTAINED_RESOURCE_PARAM, containedParam } from '../src/search/index-types.ts';

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

describe('the index of contained resources', () => {
  const index = indexResource({
    resourceType: 'MedicationRequest',
    id: 'mr1',
    status: 'active',
    intent: 'order',
    contained: [
      { resourceType: 'Medication', id: 'm1', code: { coding: [{ system: RXNORM, code: '1049221' }] } },
      { resourceType: 'Patient', id: 'p1', name: [{ family: 'Inline' }] },
      // Not a resource type, and no id: nothing to index or to name.
      { resourceType: 'NoSuchType', id: 'x' },
      { resourceType: 'Medication' },
    ],
    medicationReference: { reference: '#m1' },
    subject: { reference: '#p1' },
  });

  it('writes each contained resource under its own names, beside the container', () => {
    expect(index.tokens).toContainEqual({
      param: containedParam('m1', 'code'),
      system: RXNORM,
      code: '1049221',
    });
    expect(
      index.strings.filter((s) => s.param === containedParam('p1', 'family')).map((s) => s.value),
    ).toEqual(['Inline']);
    // The container's own `code` (MedicationRequest.medication as CodeableConcept) has no value.
    expect(index.tokens.filter((t) => t.param === 'code')).toEqual([]);
  });

  it('names every indexed contained resource once, by type and local id', () => {
    expect(index.tokens.filter((t) => t.param === CONTAINED_RESOURCE_PARAM)).toEqual([
      { param: CONTAINED_RESOURCE_PARAM, system: 'Medication', code: 'm1' },
      { param: CONTAINED_RESOURCE_PARAM, system: 'Patient', code: 'p1' },
    ]);
  });

  it('makes no compartment of a contained Patient (references.html#contained)', () => {
    expect(index.patientCompartments).toEqual([]);
  });
});
