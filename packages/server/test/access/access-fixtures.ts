/**
 * Typed builders of the resources relationships are made of (access/relationship-sql.ts): a
 * declaration (ADR 0005), encounters with participants, referrals, Consents.
 */
import type { FhirResource } from '@concordia/fhir';
import { DECLARATION_TYPE } from '../../src/access/relationship-sql.ts';

export const RX_SYSTEM = 'https://concordia.example/prescription-id';
/** Consent.provision.class codes: resource types (binding consent-content-class, extensible). */
const CLASS_SYSTEM = 'http://hl7.org/fhir/resource-types';

export function declaration(options: {
  id?: string;
  patient: string;
  practitioner: string;
  organization?: string;
  status?: 'active' | 'finished' | 'cancelled';
}): FhirResource {
  return {
    resourceType: 'EpisodeOfCare',
    ...(options.id !== undefined ? { id: options.id } : {}),
    status: options.status ?? 'active',
    type: [{ coding: [{ ...DECLARATION_TYPE, display: 'Declaration with a family doctor' }] }],
    patient: { reference: `Patient/${options.patient}` },
    ...(options.organization !== undefined
      ? { managingOrganization: { reference: `Organization/${options.organization}` } }
      : {}),
    careManager: { reference: `Practitioner/${options.practitioner}` },
    period: { start: '2026-01-01' },
  };
}

export function encounter(options: {
  id: string;
  patient: string;
  participant?: string;
  serviceProvider?: string;
  episode?: string;
}): FhirResource {
  return {
    resourceType: 'Encounter',
    id: options.id,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${options.patient}` },
    ...(options.participant !== undefined
      ? { participant: [{ individual: { reference: `Practitioner/${options.participant}` } }] }
      : {}),
    ...(options.serviceProvider !== undefined
      ? { serviceProvider: { reference: `Organization/${options.serviceProvider}` } }
      : {}),
    ...(options.episode !== undefined
      ? { episodeOfCare: [{ reference: `EpisodeOfCare/${options.episode}` }] }
      : {}),
  };
}

export function observation(options: {
  id: string;
  patient: string;
  encounter?: string;
  code?: string;
}): FhirResource {
  return {
    resourceType: 'Observation',
    id: options.id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: options.code ?? '8867-4' }] },
    subject: { reference: `Patient/${options.patient}` },
    ...(options.encounter !== undefined
      ? { encounter: { reference: `Encounter/${options.encounter}` } }
      : {}),
    valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

export function referral(options: {
  id: string;
  patient: string;
  performer: string;
  encounter?: string;
}): FhirResource {
  return {
    resourceType: 'ServiceRequest',
    id: options.id,
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/${options.patient}` },
    performer: [{ reference: `Practitioner/${options.performer}` }],
    ...(options.encounter !== undefined
      ? { encounter: { reference: `Encounter/${options.encounter}` } }
      : {}),
  };
}

export function allergy(options: { id: string; patient: string }): FhirResource {
  return {
    resourceType: 'AllergyIntolerance',
    id: options.id,
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
      ],
    },
    patient: { reference: `Patient/${options.patient}` },
    code: { text: 'Penicillin' },
  };
}

export function prescription(options: {
  id: string;
  patient: string;
  number: string;
  status?: 'active' | 'completed';
}): FhirResource {
  return {
    resourceType: 'MedicationRequest',
    id: options.id,
    identifier: [{ system: RX_SYSTEM, value: options.number }],
    status: options.status ?? 'active',
    intent: 'order',
    medicationCodeableConcept: { text: 'Amoxicillin 500 mg' },
    subject: { reference: `Patient/${options.patient}` },
  };
}

export function consent(options: {
  id?: string;
  patient: string;
  actor: string;
  type: 'permit' | 'deny';
  classes?: string[];
  securityLabels?: { system: string; code: string }[];
}): FhirResource {
  return {
    resourceType: 'Consent',
    ...(options.id !== undefined ? { id: options.id } : {}),
    status: 'active',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${options.patient}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: options.type,
      actor: [
        {
          role: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }],
          },
          reference: { reference: options.actor },
        },
      ],
      ...(options.classes !== undefined
        ? { class: options.classes.map((code) => ({ system: CLASS_SYSTEM, code })) }
        : {}),
      ...(options.securityLabels !== undefined ? { securityLabel: options.securityLabels } : {}),
    },
  };
}
