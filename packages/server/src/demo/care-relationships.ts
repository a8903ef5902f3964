/**
 * The relationships the access decision reads (access/relationship-sql.ts), as demo resources:
 * a patient's declaration with their family doctor (an EpisodeOfCare of the declaration type,
 * ADR 0005) and a referral to a specialist (a ServiceRequest whose performer is the specialist).
 */
import type { FhirResource } from '@concordia/fhir';
import { DECLARATION_TYPE } from '../access/relationship-sql.ts';
import { dateTime } from './fhir-datatypes.ts';
import type { Reference } from './transaction-builder.ts';

/** Prescription numbers a pharmacist looks a MedicationRequest up by (`identifier=system|number`). */
export const PRESCRIPTION_SYSTEM = 'https://concordia.example/prescription-id';

export function declaration(spec: {
  patient: Reference;
  familyDoctor: Reference;
  organization: Reference;
  since: Date;
}): FhirResource {
  return {
    resourceType: 'EpisodeOfCare',
    status: 'active',
    type: [{ coding: [{ ...DECLARATION_TYPE, display: 'Declaration with a family doctor' }] }],
    patient: spec.patient,
    managingOrganization: spec.organization,
    period: { start: dateTime(spec.since) },
    careManager: spec.familyDoctor,
  };
}

export function referral(spec: {
  patient: Reference;
  requester: Reference;
  performer: Reference;
  encounter: Reference;
  reason: Reference;
  authored: Date;
}): FhirResource {
  return {
    resourceType: 'ServiceRequest',
    status: 'completed',
    intent: 'order',
    category: [
      {
        coding: [{ system: 'http://snomed.info/sct', code: '3457005', display: 'Patient referral' }],
      },
    ],
    code: { text: 'Cardiology consultation' },
    subject: spec.patient,
    encounter: spec.encounter,
    authoredOn: dateTime(spec.authored),
    requester: spec.requester,
    performer: [spec.performer],
    reasonReference: [spec.reason],
  };
}
