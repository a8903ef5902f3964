/**
 * Typed builders for the clinical resources of a demo record. Each returns a resource that is
 * valid FHIR R4 on its own (required elements, bound codes from the spec's required value sets).
 */
import type { FhirResource } from '@concordia/fhir';
import { PRESCRIPTION_SYSTEM } from './care-relationships.ts';
import {
  type AllergyTemplate,
  type Code,
  type ConditionTemplate,
  type MedicationTemplate,
  SYSTEMS,
  type VaccineTemplate,
} from './clinical-catalogue.ts';
import { capitalise, codeable, dateTime, quantity, TERMINOLOGY } from './fhir-datatypes.ts';
import type { Reference } from './transaction-builder.ts';

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
  /** The prescription's number, by which a pharmacist finds it (care-relationships.ts). */
  prescriptionNumber: string;
}

export function medicationRequest(spec: PrescriptionSpec): FhirResource {
  const { medication } = spec;
  return {
    resourceType: 'MedicationRequest',
    identifier: [{ system: PRESCRIPTION_SYSTEM, value: spec.prescriptionNumber }],
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
