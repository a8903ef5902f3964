/**
 * Typed builders for the clinical resources of a demo record. Each returns a resource that is
 * valid FHIR R4 on its own (required elements, bound codes from the spec's required value sets).
 */
import type { FhirResource } from '@concordia/fhir';
import {
  type AllergyTemplate,
  type Code,
  type ConditionTemplate,
  type LabTemplate,
  type MedicationTemplate,
  SYSTEMS,
  type VaccineTemplate,
  type VitalSignTemplate,
} from './clinical-catalogue.ts';
import type { Reference } from './transaction-builder.ts';

const TERMINOLOGY = 'http://terminology.hl7.org/CodeSystem';

export interface EncounterSpec {
  subject: Reference;
  practitioner: Reference;
  serviceProvider: Reference;
  setting: 'ambulatory' | 'emergency';
  type: Code;
  start: Date;
  minutes: number;
  /** Conditions diagnosed or treated at this encounter. */
  diagnoses?: Reference[];
}

export function encounter(spec: EncounterSpec): FhirResource {
  const end = new Date(spec.start.getTime() + spec.minutes * 60_000);
  const actClass =
    spec.setting === 'ambulatory'
      ? { code: 'AMB', display: 'ambulatory' }
      : { code: 'EMER', display: 'emergency' };
  return {
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', ...actClass },
    type: [
      { coding: [{ system: SYSTEMS.snomed, ...spec.type }], text: spec.type.display.replace(/ \(.*\)$/, '') },
    ],
    subject: spec.subject,
    participant: [
      {
        type: [
          {
            coding: [
              { system: `${TERMINOLOGY}/v3-ParticipationType`, code: 'PPRF', display: 'primary performer' },
            ],
          },
        ],
        individual: spec.practitioner,
      },
    ],
    period: { start: dateTime(spec.start), end: dateTime(end) },
    ...(spec.diagnoses !== undefined && spec.diagnoses.length > 0
      ? { diagnosis: spec.diagnoses.map((condition, index) => ({ condition, rank: index + 1 })) }
      : {}),
    serviceProvider: spec.serviceProvider,
  };
}

export interface ConditionSpec {
  template: ConditionTemplate;
  subject: Reference;
  encounter: Reference;
  recorder: Reference;
  onset: Date;
  recorded: Date;
  /** When an acute condition resolved; chronic conditions stay active. */
  abated?: Date;
}

export function condition(spec: ConditionSpec): FhirResource {
  const { template } = spec;
  // con-4: an abated condition must not be active.
  const clinical = spec.abated === undefined ? 'active' : 'resolved';
  return {
    resourceType: 'Condition',
    clinicalStatus: codeable(`${TERMINOLOGY}/condition-clinical`, {
      code: clinical,
      display: capitalise(clinical),
    }),
    verificationStatus: codeable(`${TERMINOLOGY}/condition-ver-status`, {
      code: 'confirmed',
      display: 'Confirmed',
    }),
    category: [
      template.course === 'chronic'
        ? codeable(`${TERMINOLOGY}/condition-category`, {
            code: 'problem-list-item',
            display: 'Problem List Item',
          })
        : codeable(`${TERMINOLOGY}/condition-category`, {
            code: 'encounter-diagnosis',
            display: 'Encounter Diagnosis',
          }),
    ],
    code: {
      coding: [
        { system: SYSTEMS.icd10, ...template.icd10 },
        { system: SYSTEMS.icpc2, ...template.icpc2 },
      ],
      text: template.icd10.display,
    },
    subject: spec.subject,
    encounter: spec.encounter,
    onsetDateTime: dateTime(spec.onset),
    ...(spec.abated !== undefined ? { abatementDateTime: dateTime(spec.abated) } : {}),
    recordedDate: dateTime(spec.recorded),
    recorder: spec.recorder,
  };
}

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

export interface AllergySpec {
  template: AllergyTemplate;
  patient: Reference;
  recorder: Reference;
  recorded: Date;
}

export function allergyIntolerance(spec: AllergySpec): FhirResource {
  const { template } = spec;
  return {
    resourceType: 'AllergyIntolerance',
    clinicalStatus: codeable(`${TERMINOLOGY}/allergyintolerance-clinical`, {
      code: 'active',
      display: 'Active',
    }),
    verificationStatus: codeable(`${TERMINOLOGY}/allergyintolerance-verification`, {
      code: 'confirmed',
      display: 'Confirmed',
    }),
    type: 'allergy',
    category: [template.category],
    criticality: template.criticality,
    code: codeable(SYSTEMS.snomed, template.substance, template.substance.display),
    patient: spec.patient,
    recordedDate: dateTime(spec.recorded),
    recorder: spec.recorder,
    reaction: [
      {
        manifestation: [codeable(SYSTEMS.snomed, template.reaction, template.reaction.display)],
        severity: template.severity,
      },
    ],
  };
}

export interface PrescriptionSpec {
  medication: MedicationTemplate;
  subject: Reference;
  encounter: Reference;
  requester: Reference;
  reason: Reference;
  authored: Date;
  /** Chronic treatments stay active; a short course is completed. */
  status: 'active' | 'completed';
}

export function medicationRequest(spec: PrescriptionSpec): FhirResource {
  const { medication } = spec;
  return {
    resourceType: 'MedicationRequest',
    status: spec.status,
    intent: 'order',
    medicationCodeableConcept: codeable(SYSTEMS.atc, medication.atc, medication.atc.display),
    subject: spec.subject,
    encounter: spec.encounter,
    authoredOn: dateTime(spec.authored),
    requester: spec.requester,
    reasonReference: [spec.reason],
    dosageInstruction: [
      {
        sequence: 1,
        text: medication.instructions,
        timing: { repeat: { frequency: medication.timesPerDay, period: 1, periodUnit: 'd' } },
        asNeededBoolean: medication.asNeeded,
        route: codeable(SYSTEMS.snomed, medication.route, medication.route.display),
        doseAndRate: [{ doseQuantity: quantity(medication.dose.value, medication.dose) }],
      },
    ],
  };
}

export interface ImmunizationSpec {
  vaccine: VaccineTemplate;
  patient: Reference;
  performer: Reference;
  occurrence: Date;
  lotNumber: string;
}

export function immunization(spec: ImmunizationSpec): FhirResource {
  return {
    resourceType: 'Immunization',
    status: 'completed',
    vaccineCode: codeable(SYSTEMS.cvx, spec.vaccine.cvx, spec.vaccine.cvx.display),
    patient: spec.patient,
    occurrenceDateTime: dateTime(spec.occurrence),
    primarySource: true,
    lotNumber: spec.lotNumber,
    performer: [
      {
        function: codeable('http://terminology.hl7.org/CodeSystem/v2-0443', {
          code: 'AP',
          display: 'Administering Provider',
        }),
        actor: spec.performer,
      },
    ],
  };
}

function codeable(system: string, code: Code, text?: string): Record<string, unknown> {
  return {
    coding: [{ system, code: code.code, display: code.display }],
    ...(text !== undefined ? { text } : {}),
  };
}

function quantity(value: number, unit: { unit: string; code: string }): Record<string, unknown> {
  return { value, unit: unit.unit, system: SYSTEMS.ucum, code: unit.code };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** FHIR dateTime in UTC, to the second (`2024-03-12T09:30:00Z`). */
export function dateTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** FHIR date (`1961-07-04`). */
export function dateOnly(date: Date): string {
  return date.toISOString().slice(0, 10);
}
