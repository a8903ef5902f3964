/**
 * The codes an AuditEvent in the IHE Basic Audit Log Patterns shape carries
 * (https://profiles.ihe.net/ITI/BALP/): the event type and subtype, the agent and entity types and
 * roles, the outcome and purpose-of-use value sets. Kept in one place so that every event the
 * server writes uses the same codings and the search columns can be derived from them.
 */
import type { InteractionName } from '../fhir/interaction.ts';

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
export const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
export const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
export const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
export const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
export const SECURITY_ROLE_TYPE = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';
export const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
export const PURPOSE_OF_USE = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
/** The operation a `rest` `operation` event ran (`everything`, `export`…), as its second subtype. */
export const OPERATION_SYSTEM = 'https://concordia.example/fhir/CodeSystem/operation';
/** Concordia's roles (access/roles.ts) as an agent role coding. */
export const CONCORDIA_ROLE = 'https://concordia.example/fhir/CodeSystem/role';
/** Identifiers of accounts and OAuth clients when no FHIR resource stands for them. */
export const CONCORDIA_USER = 'https://concordia.example/user-id';
export const CONCORDIA_CLIENT = 'https://concordia.example/client-id';

/** BALP: "rest" RESTful Operation; the subtype says which interaction. */
export const REST_TYPE: Coding = { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'Restful Operation' };
/** BALP Login/Logout: DICOM 110114 User Authenticated, subtype 110122 Login / 110123 Logout. */
export const USER_AUTHENTICATED: Coding = { system: DICOM, code: '110114', display: 'User Authenticated' };
export const LOGIN: Coding = { system: DICOM, code: '110122', display: 'Login' };
export const LOGOUT: Coding = { system: DICOM, code: '110123', display: 'Logout' };

/** C create, R read/vread/history, U update/patch, D delete, E execute (search, operation, transaction, login). */
export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

/** 0 success, 4 minor failure (the request was refused or wrong), 8 serious failure (the server failed), 12 major failure. */
export type AuditOutcome = '0' | '4' | '8' | '12';

/** The restful-interaction code (http://hl7.org/fhir/R4/valueset-restful-interaction.html) and its BALP action. */
export function interactionCoding(interaction: InteractionName): { subtype: Coding; action: AuditAction } {
  const subtype = { system: RESTFUL_INTERACTION, code: interaction };
  switch (interaction) {
    case 'create':
      return { subtype, action: 'C' };
    case 'read':
    case 'vread':
    case 'history-instance':
    case 'history-type':
    case 'history-system':
      return { subtype, action: 'R' };
    case 'update':
    case 'patch':
      return { subtype, action: 'U' };
    case 'delete':
      return { subtype, action: 'D' };
    default:
      // search-type, search-system, transaction, batch, operation, capabilities, unknown: BALP
      // records a query or an operation as execute.
      return { subtype, action: 'E' };
  }
}

/** The outcome code of an HTTP status: a client's mistake or refusal is minor, a server failure serious. */
export function outcomeOfStatus(status: number): AuditOutcome {
  if (status < 400) return '0';
  return status < 500 ? '4' : '8';
}

/** BALP agent types: the client is the Source Role ID, the server the Destination Role ID. */
export const CLIENT_AGENT_TYPE: Coding = { system: DICOM, code: '110153', display: 'Source Role ID' };
export const SERVER_AGENT_TYPE: Coding = { system: DICOM, code: '110152', display: 'Destination Role ID' };
export const USER_AGENT_TYPE: Coding = {
  system: SECURITY_ROLE_TYPE,
  code: 'humanuser',
  display: 'human user',
};

/** BALP entity[data]: a System Object in the Domain Resource role. */
export const DATA_ENTITY = {
  type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
  role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
} as const;
/** BALP entity[query]: the query, base64 in `entity.query`. */
export const QUERY_ENTITY = {
  type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
  role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
} as const;
/** BALP entity[patient]: a Person in the Patient role. */
export const PATIENT_ENTITY = {
  type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
  role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
} as const;

/** Purpose of use that is an emergency access (break-the-glass, DESIGN.md D6). */
export const BREAK_THE_GLASS_PURPOSES: ReadonlySet<string> = new Set(['ETREAT', 'BTG']);
/** The security label that marks an event of a break-the-glass access (v3-ActCode BTG). */
export const BREAK_THE_GLASS_LABEL: Coding = { system: ACT_CODE, code: 'BTG', display: 'break the glass' };

/** Source observer type 4: Application Server. */
export const APPLICATION_SERVER: Coding = { system: SOURCE_TYPE, code: '4', display: 'Application Server' };
