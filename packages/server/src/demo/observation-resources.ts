/**
 * Observation builders for the demo records: vital signs (the R4 vital signs profile's LOINC codes
 * and UCUM units) and laboratory results.
 */
import type { FhirResource } from '@concordia/fhir';
import { type Code, type LabTemplate, SYSTEMS, type VitalSignTemplate } from './clinical-catalogue.ts';
import { codeable, dateTime, quantity, TERMINOLOGY } from './fhir-datatypes.ts';
import type { Reference } from './transaction-builder.ts';

export interface ObservationContext {
  subject: Reference;
  encounter: Reference;
  performer: Reference;
  effective: Date;
}

const VITAL_SIGNS_CATEGORY = codeable(`${TERMINOLOGY}/observation-category`, {
  code: 'vital-signs',
  display: 'Vital Signs',
});
const LABORATORY_CATEGORY = codeable(`${TERMINOLOGY}/observation-category`, {
  code: 'laboratory',
  display: 'Laboratory',
});

export function vitalSign(
  context: ObservationContext,
  vital: VitalSignTemplate,
  value: number,
): FhirResource {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [VITAL_SIGNS_CATEGORY],
    code: codeable(SYSTEMS.loinc, vital.loinc, vital.loinc.display),
    subject: context.subject,
    encounter: context.encounter,
    effectiveDateTime: dateTime(context.effective),
    performer: [context.performer],
    valueQuantity: quantity(value, vital.unit),
  };
}

/** observation-vitalsigns: the panel has no value of its own, only its two components. */
export function bloodPressure(
  context: ObservationContext,
  panel: Code,
  systolic: [VitalSignTemplate, number],
  diastolic: [VitalSignTemplate, number],
): FhirResource {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [VITAL_SIGNS_CATEGORY],
    code: codeable(SYSTEMS.loinc, panel, 'Blood pressure'),
    subject: context.subject,
    encounter: context.encounter,
    effectiveDateTime: dateTime(context.effective),
    performer: [context.performer],
    component: [systolic, diastolic].map(([vital, value]) => ({
      code: codeable(SYSTEMS.loinc, vital.loinc, vital.loinc.display),
      valueQuantity: quantity(value, vital.unit),
    })),
  };
}

export function labResult(
  context: ObservationContext,
  lab: LabTemplate,
  value: number,
  issued: Date,
): FhirResource {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [LABORATORY_CATEGORY],
    code: codeable(SYSTEMS.loinc, lab.loinc, lab.loinc.display),
    subject: context.subject,
    encounter: context.encounter,
    effectiveDateTime: dateTime(context.effective),
    issued: dateTime(issued),
    performer: [context.performer],
    valueQuantity: quantity(value, lab.unit),
  };
}
