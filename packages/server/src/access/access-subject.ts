/**
 * Who a deferred read runs for. A bulk `$export` is read by a job long after its request (export.html):
 * the job must see exactly what the requester may see, so the kick-off records the part of the
 * principal the access decision depends on (roles, fhirUser, organization, patient, break-the-glass)
 * in the job, and the job reads under it. The token's scopes were checked at kick-off; only its
 * resource scopes are kept (not the token), because the rows they reach are part of the decision
 * (SMART v2 query-restricted scopes, scope-row-filter.ts). Internal and open-development principals
 * record nothing: they read everything.
 */
import { isRecord } from '@concordia/fhir';
import type { RequestContext } from './request-context.ts';
import { isRole, type Role } from './roles.ts';
import { parseScopes } from './smart-scopes.ts';

export interface AccessSubject {
  kind: 'user' | 'client';
  id: string;
  clientId: string;
  roles: Role[];
  fhirUser?: string;
  organization?: string;
  patient?: string;
  breakTheGlass?: { reason: string };
  /** The token's resource scopes as granted (`system/Observation.rs?category=…`). */
  scopes?: string[];
}

export function accessSubjectOf(ctx: RequestContext): AccessSubject | undefined {
  const { principal } = ctx;
  if (principal.kind !== 'user' && principal.kind !== 'client') return undefined;
  return {
    kind: principal.kind,
    id: principal.id,
    clientId: principal.clientId,
    roles: [...principal.roles],
    ...(principal.kind === 'user' && principal.fhirUser !== undefined
      ? { fhirUser: principal.fhirUser }
      : {}),
    ...(principal.organization !== undefined ? { organization: principal.organization } : {}),
    ...(principal.patient !== undefined ? { patient: principal.patient } : {}),
    ...(ctx.breakTheGlass !== undefined ? { breakTheGlass: { reason: ctx.breakTheGlass.reason } } : {}),
    scopes: principal.scopes.resources.map((scope) => scope.raw),
  };
}

/** Reads back a recorded subject; `undefined` when none was recorded or it is malformed. */
export function parseAccessSubject(value: unknown): AccessSubject | undefined {
  if (!isRecord(value)) return undefined;
  const { kind, id, clientId, roles, fhirUser, organization, patient, breakTheGlass, scopes } = value;
  if ((kind !== 'user' && kind !== 'client') || typeof id !== 'string' || typeof clientId !== 'string') {
    return undefined;
  }
  if (!Array.isArray(roles)) return undefined;
  const text = (field: unknown) => (typeof field === 'string' ? field : undefined);
  const reason = isRecord(breakTheGlass) ? text(breakTheGlass.reason) : undefined;
  const optional = { fhirUser: text(fhirUser), organization: text(organization), patient: text(patient) };
  return {
    kind,
    id,
    clientId,
    roles: roles.filter((role): role is Role => typeof role === 'string' && isRole(role)),
    ...Object.fromEntries(Object.entries(optional).filter(([, field]) => field !== undefined)),
    ...(reason !== undefined ? { breakTheGlass: { reason } } : {}),
    ...(Array.isArray(scopes)
      ? { scopes: scopes.filter((scope): scope is string => typeof scope === 'string') }
      : {}),
  };
}

/** A context that reads as the subject did, under the resource scopes it recorded. */
export function subjectContext(subject: AccessSubject, requestId: string): RequestContext {
  const grant = {
    id: subject.id,
    roles: subject.roles,
    scopes: parseScopes(subject.scopes ?? []),
    clientId: subject.clientId,
    expiresAt: 0,
    ...(subject.organization !== undefined ? { organization: subject.organization } : {}),
    ...(subject.patient !== undefined ? { patient: subject.patient } : {}),
  };
  return {
    principal:
      subject.kind === 'client'
        ? { kind: 'client', ...grant }
        : {
            kind: 'user',
            ...grant,
            ...(subject.fhirUser !== undefined ? { fhirUser: subject.fhirUser } : {}),
          },
    clientId: subject.clientId,
    requestId,
    ...(subject.breakTheGlass !== undefined ? { breakTheGlass: subject.breakTheGlass } : {}),
  };
}
