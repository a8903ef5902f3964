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
    careManager: { reference: practitionerReference(options.practitioner) },
    period: { start: '2026-01-01' },
  };
}

/** `p-1` → `Practitioner/p-1`; a reference with a type (`PractitionerRole/r-1`) as it is. */
function practitionerReference(idOrReference: string): string {
  return idOrReference.includes('/') ? idOrReference : `Practitioner/${idOrReference}`;
}

/** An EpisodeOfCare other than a declaration, managed by `careManager` or a `team`. */
export function episodeOfCare(options: {
  id: string;
  patient: string;
  careManager?: string;
  team?: string;
}): FhirResource {
  return {
    resourceType: 'EpisodeOfCare',
    id: options.id,
    status: 'active',
    patient: { reference: `Patient/${options.patient}` },
    ...(options.careManager !== undefined ? { careManager: { reference: options.careManager } } : {}),
    ...(options.team !== undefined ? { team: [{ reference: options.team }] } : {}),
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
      ? { participant: [{ individual: { reference: practitionerReference(options.participant) } }] }
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
  /** Observation.effectiveDateTime: the `date` parameter (clinical time). */
  effective?: string;
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
    ...(options.effective !== undefined ? { effectiveDateTime: options.effective } : {}),
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
    performer: [{ reference: practitionerReference(options.performer) }],
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

/** A Consent.provision (consent.html#Consent.provision); nested ones are its exceptions. */
export interface ProvisionInput {
  type?: 'permit' | 'deny';
  /** `Type/id` references. */
  actors?: string[];
  classes?: string[];
  securityLabels?: { system: string; code: string }[];
  period?: { start?: string; end?: string };
  /** consentaction codes (access, collect, use, disclose, correct). */
  actions?: string[];
  /** v3-ActReason purpose-of-use codes (TREAT, HRESCH…). */
  purposes?: string[];
  /** Codings of the resources' `code`. */
  codes?: { system: string; code: string }[];
  data?: { meaning: 'instance' | 'related' | 'dependents' | 'authoredby'; reference: string }[];
  dataPeriod?: { start?: string; end?: string };
  provisions?: ProvisionInput[];
}

const ACTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentaction';
const PURPOSE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

function provision(input: ProvisionInput): Record<string, unknown> {
  return {
    ...(input.type !== undefined ? { type: input.type } : {}),
    ...(input.period !== undefined ? { period: input.period } : {}),
    ...(input.actors !== undefined
      ? {
          actor: input.actors.map((reference) => ({
            role: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' },
              ],
            },
            reference: { reference },
          })),
        }
      : {}),
    ...(input.securityLabels !== undefined ? { securityLabel: input.securityLabels } : {}),
    ...(input.classes !== undefined
      ? { class: input.classes.map((code) => ({ system: CLASS_SYSTEM, code })) }
      : {}),
    ...(input.actions !== undefined
      ? { action: input.actions.map((code) => ({ coding: [{ system: ACTION_SYSTEM, code }] })) }
      : {}),
    ...(input.purposes !== undefined
      ? { purpose: input.purposes.map((code) => ({ system: PURPOSE_SYSTEM, code })) }
      : {}),
    ...(input.codes !== undefined ? { code: input.codes.map((coding) => ({ coding: [coding] })) } : {}),
    ...(input.dataPeriod !== undefined ? { dataPeriod: input.dataPeriod } : {}),
    ...(input.data !== undefined
      ? {
          data: input.data.map((item) => ({
            meaning: item.meaning,
            reference: { reference: item.reference },
          })),
        }
      : {}),
    ...(input.provisions !== undefined ? { provision: input.provisions.map(provision) } : {}),
  };
}

export function consent(
  options: {
    id?: string;
    patient: string;
    actor?: string;
    type: 'permit' | 'deny';
  } & Omit<ProvisionInput, 'type' | 'actors'>,
): FhirResource {
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
    provision: provision({
      ...options,
      ...(options.actor !== undefined ? { actors: [options.actor] } : {}),
    }),
  };
}

export function practitionerRole(options: {
  id: string;
  practitioner: string;
  organization?: string;
  active?: boolean;
  period?: { start?: string; end?: string };
}): FhirResource {
  return {
    resourceType: 'PractitionerRole',
    id: options.id,
    active: options.active ?? true,
    ...(options.period !== undefined ? { period: options.period } : {}),
    practitioner: { reference: `Practitioner/${options.practitioner}` },
    ...(options.organization !== undefined
      ? { organization: { reference: `Organization/${options.organization}` } }
      : {}),
  };
}

export function careTeam(options: {
  id: string;
  patient: string;
  /** `Type/id` of each member, and the period of their participation. */
  members: { reference: string; period?: { start?: string; end?: string } }[];
  encounter?: string;
  status?: 'active' | 'inactive' | 'proposed';
}): FhirResource {
  return {
    resourceType: 'CareTeam',
    id: options.id,
    status: options.status ?? 'active',
    subject: { reference: `Patient/${options.patient}` },
    ...(options.encounter !== undefined
      ? { encounter: { reference: `Encounter/${options.encounter}` } }
      : {}),
    participant: options.members.map((member) => ({
      member: { reference: member.reference },
      ...(member.period !== undefined ? { period: member.period } : {}),
    })),
  };
}
