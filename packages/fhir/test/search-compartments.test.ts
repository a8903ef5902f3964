/**
 * Patient compartment membership, checked against the published rules
 * (http://hl7.org/fhir/R4/compartmentdefinition-patient.html): e.g. Observation by subject and
 * performer, Encounter by subject, Patient by link, and no membership for Organization.
 */
import { describe, expect, it } from 'vitest';
import { CompartmentDefinition, patientCompartmentDefinition } from '../src/search/compartments.ts';
import { indexResource } from '../src/search/index-resource.ts';
import { encounter, observation, organization, patient } from './search-fixtures.ts';

describe('the Patient compartment definition (compartmentdefinition-patient.html)', () => {
  const definition = patientCompartmentDefinition();

  it('lists the parameters of the published definition', () => {
    expect(definition.code).toBe('Patient');
    expect(definition.paramsFor('Observation')).toEqual(['subject', 'performer']);
    expect(definition.paramsFor('Encounter')).toEqual(['subject']);
    expect(definition.paramsFor('Patient')).toEqual(['link']);
    expect(definition.paramsFor('AllergyIntolerance')).toEqual(['patient', 'recorder', 'asserter']);
    expect(definition.paramsFor('Organization')).toEqual([]);
    expect(definition.memberTypes()).toHaveLength(67);
  });

  it('rejects something that is not a CompartmentDefinition', () => {
    expect(() => CompartmentDefinition.fromResource({ resourceType: 'Patient' })).toThrow();
  });
});

describe('patient compartment membership', () => {
  it('puts a Patient in its own compartment and in those of the patients it links to', () => {
    expect(indexResource(patient()).patientCompartments).toEqual(['pat-1']);
    const linked = patient({ link: [{ other: { reference: 'Patient/pat-0' }, type: 'replaces' }] });
    expect(indexResource(linked).patientCompartments).toEqual(['pat-1', 'pat-0']);
  });

  it('puts an Observation in the compartments of its subject and patient performers, once each', () => {
    expect(indexResource(observation()).patientCompartments).toEqual(['pat-1']);
    const twoPatients = observation({
      subject: { reference: 'Patient/pat-1' },
      performer: [{ reference: 'Patient/pat-2' }, { reference: 'Practitioner/gp-1' }],
    });
    expect(indexResource(twoPatients).patientCompartments.sort()).toEqual(['pat-1', 'pat-2']);
  });

  it('keeps an Observation about a Group out of every patient compartment', () => {
    expect(
      indexResource(observation({ subject: { reference: 'Group/g-1' }, performer: [] })).patientCompartments,
    ).toEqual([]);
  });

  it('puts an Encounter in the compartment of its subject when the subject is a Patient', () => {
    expect(indexResource(encounter()).patientCompartments).toEqual(['pat-1']);
    expect(indexResource(encounter({ subject: { reference: 'Group/g-1' } })).patientCompartments).toEqual([]);
  });

  it('puts an AllergyIntolerance in the compartments of its patient and of a patient asserter', () => {
    const allergy = {
      resourceType: 'AllergyIntolerance',
      id: 'al-1',
      patient: { reference: 'Patient/pat-1' },
      recorder: { reference: 'Practitioner/gp-1' },
      asserter: { reference: 'Patient/pat-3' },
    };
    expect(indexResource(allergy).patientCompartments.sort()).toEqual(['pat-1', 'pat-3']);
  });

  it('puts a MedicationRequest in its subject compartment', () => {
    const request = {
      resourceType: 'MedicationRequest',
      id: 'mr-1',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/pat-1' },
      requester: { reference: 'Practitioner/gp-1' },
    };
    expect(indexResource(request).patientCompartments).toEqual(['pat-1']);
  });

  it('never puts an Organization in a patient compartment, even one that names a Patient', () => {
    expect(indexResource(organization()).patientCompartments).toEqual([]);
    const practitioner = { resourceType: 'Practitioner', id: 'gp-1', name: [{ family: 'Favre' }] };
    expect(indexResource(practitioner).patientCompartments).toEqual([]);
  });
});
