/**
 * "May this token do X on type T (with these search parameters)?" — answered from the token's
 * SMART scopes alone. This bounds what an app may ever do; the relationship-, consent- and
 * purpose-based access decision (DESIGN.md D6, access-policy.ts) narrows it further.
 *
 * `patient/` scopes keep a token inside its launch patient's record. Where the request itself
 * shows it — `Patient/<id>` interactions, `Patient/<id>/<Type>` compartment searches, type searches
 * that name the patient through a Patient-compartment parameter — the check is made here. A read,
 * create, update or delete by id of another type (`Observation/123`) cannot show it: it is let
 * through when every reading scope of the token is a `patient/` scope, because the access decision
 * then keeps every row the store reads inside that patient's compartment (`confinedPatient`) — a
 * resource of another record answers 404 exactly as an id that does not exist — and refuses a
 * write that would land outside it (403). Searches, conditional interactions and operations must
 * still show the patient.
 *
 * A v2 query-restricted scope (`patient/Observation.rs?category=laboratory`) grants its
 * permissions here like an unrestricted one: which resources it covers is not a question about the
 * request but about rows, answered by the store under the access decision (scope-row-filter.ts:
 * a resource it does not cover reads as absent, a search does not return it) and by the write
 * checks (scope-writes.ts).
 */
import { patientCompartmentDefinition, searchParameter } from '@concordia/fhir';
import type { TokenGrant } from './request-context.ts';
import type { Permission, ResourceScope } from './smart-scopes.ts';

export interface ScopeRequest {
  permission: Permission;
  /** The resource type acted on, or `*` for requests that span every type (system search). */
  resourceType: string;
  /** The search parameters of a search (for patient confinement). */
  query?: readonly (readonly [string, string])[];
  /** The Patient id the request is confined to by its URL (`Patient/<id>`, compartment search). */
  patient?: string;
  /** Reached only through the results of a search confined to the token's patient (`_include`). */
  throughConfinedSearch?: boolean;
  /**
   * A read, vread, instance history, create, or update, patch or delete by id: interactions whose
   * rows the store reads and writes under the access decision, which keeps a `patient/` token
   * inside its patient's record where the URL cannot show it (`confinedPatient`).
   */
  confinable?: boolean;
  /** An extended operation (`$everything`, `$import`…), which may read or write outside the store. */
  operation?: boolean;
}

export type ScopeDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: ScopeDecision = { allowed: true };

export function decideScopes(grant: TokenGrant, request: ScopeRequest): ScopeDecision {
  const candidates = grant.scopes.resources.filter(
    (scope) =>
      scope.permissions.has(request.permission) &&
      (scope.resourceType === '*' || scope.resourceType === request.resourceType),
  );
  if (candidates.length === 0) {
    return {
      allowed: false,
      reason: `The access token has no scope that grants '${request.permission}' (${PERMISSION_NAMES[request.permission]}) on ${request.resourceType === '*' ? 'all resource types' : request.resourceType}`,
    };
  }
  let refusal = '';
  for (const scope of candidates) {
    const why = whyNot(scope, grant, request);
    if (why === undefined) return ALLOWED;
    refusal ||= why;
  }
  return { allowed: false, reason: refusal };
}

const PERMISSION_NAMES: Record<Permission, string> = {
  c: 'create',
  r: 'read',
  u: 'update',
  d: 'delete',
  s: 'search',
};

/**
 * Types the store does not serve (audit/audit-event-reader.ts answers AuditEvent from the audit
 * tables): no row condition reaches them, so there a restricted scope grants only a search that
 * repeats its criteria, which that reader then answers exactly.
 */
const SERVED_OUTSIDE_THE_STORE: ReadonlySet<string> = new Set(['AuditEvent']);

/** Why `scope` does not cover `request`, or `undefined` when it does. */
function whyNot(scope: ResourceScope, grant: TokenGrant, request: ScopeRequest): string | undefined {
  // An operation that changes data may write through paths no write check sees (`$import` loads as
  // the server itself): only an unrestricted scope grants it. Reads of operations go through the
  // store (`$everything`, `$export`) or read no patient's data (terminology).
  if (scope.query.length > 0 && request.operation === true && request.permission !== 'r') {
    return `Scope ${scope.raw} is restricted by search parameters, so it grants no operation that changes data`;
  }
  if (scope.query.length > 0 && SERVED_OUTSIDE_THE_STORE.has(request.resourceType)) {
    const query = request.query ?? [];
    const missing = scope.query.find(([name, value]) => !query.some(([n, v]) => n === name && v === value));
    if (request.permission !== 's' || missing !== undefined) {
      return `Scope ${scope.raw} is restricted by search parameters: on ${request.resourceType} it grants only a search that includes ${scope.query.map(([n, v]) => `${n}=${v}`).join('&')}`;
    }
  }
  if (scope.context !== 'patient') return undefined;
  if (grant.patient === undefined) {
    return `Scope ${scope.raw} needs a patient in context, and the access token has none`;
  }
  if (request.throughConfinedSearch === true) return undefined;
  if (request.patient !== undefined) {
    return request.patient === grant.patient
      ? undefined
      : `Scope ${scope.raw} covers only the record of Patient/${grant.patient}`;
  }
  if (request.confinable === true && confinedPatient(grant) !== undefined) return undefined;
  if (
    request.permission === 's' &&
    searchConfinedToPatient(request.resourceType, request.query ?? [], grant.patient)
  ) {
    return undefined;
  }
  return request.permission === 's'
    ? `Scope ${scope.raw} covers only the record of Patient/${grant.patient}: search with patient=${grant.patient} or under Patient/${grant.patient}/${request.resourceType}`
    : `Scope ${scope.raw} covers only the record of Patient/${grant.patient}; this request does not show that it stays in it`;
}

/**
 * The patient whose compartment every read of this token stays in: its launch patient, when all
 * of its scopes that read or search are `patient/` scopes (a token that also holds `user/` or
 * `system/` reading scopes is bounded by the request instead, see `whyNot`).
 */
export function confinedPatient(grant: Pick<TokenGrant, 'patient' | 'scopes'>): string | undefined {
  const { patient } = grant;
  if (patient === undefined) return undefined;
  const reading = grant.scopes.resources.filter(
    (scope) => scope.permissions.has('r') || scope.permissions.has('s'),
  );
  if (reading.length === 0 || reading.some((scope) => scope.context !== 'patient')) return undefined;
  return patient.startsWith('Patient/') ? patient.slice('Patient/'.length) : patient;
}

/**
 * Whether a type search can match only resources of `patientId`'s compartment: `_id` for
 * Patient, else one of the type's Patient-compartment parameters (`subject`, `performer`…) or
 * `patient`, with that single patient as its value.
 */
export function searchConfinedToPatient(
  resourceType: string,
  query: readonly (readonly [string, string])[],
  patientId: string,
): boolean {
  // `patient` is not a compartment parameter of every type (Observation's are subject and
  // performer) but, where defined, it is a reference to a Patient only.
  const names =
    resourceType === 'Patient'
      ? ['_id']
      : [
          ...patientCompartmentDefinition().paramsFor(resourceType),
          ...(searchParameter(resourceType, 'patient') !== undefined ? ['patient'] : []),
        ];
  if (names.length === 0) return false;
  const typed = `Patient/${patientId}`;
  return query.some(([name, value]) => {
    const typedByModifier = name.endsWith(':Patient');
    const base = typedByModifier ? name.slice(0, -':Patient'.length) : name;
    if (!names.includes(base)) return false;
    // A bare id is a Patient id only where the parameter can point at nothing else (`subject=1`
    // would also match Group/1).
    const bareIsPatient = typedByModifier || base === 'patient' || base === '_id';
    return value === typed || (bareIsPatient && value === patientId);
  });
}
