/**
 * Who reads during a standalone launch's pickers: the signed-in user, before any token exists.
 * The pickers must offer exactly what that user may read (the one access decision, DESIGN.md D6),
 * so they search as a user principal with the user's roles, `fhirUser` and organization, as the
 * app's client, holding `user/Patient.rs user/Encounter.rs` — the reach of the user's role and
 * relationships, not of the app's scopes: those are granted after the patient is chosen. The
 * searches are audited like any other read by that user through that app.
 */
import type { RequestContext } from '../access/request-context.ts';
import { parseScopes } from '../access/smart-scopes.ts';
import type { User } from './users.ts';

const PICKER_SCOPES = parseScopes('user/Patient.rs user/Encounter.rs');

export function launchReader(
  user: User,
  clientId: string,
  request: { sourceIp?: string; userAgent?: string; requestId: string },
): RequestContext {
  return {
    principal: {
      kind: 'user',
      id: user.id,
      roles: user.roles,
      scopes: PICKER_SCOPES,
      clientId,
      // Lives as long as the request that builds it; never written into a token.
      expiresAt: 0,
      ...(user.fhirUser !== undefined ? { fhirUser: user.fhirUser } : {}),
      ...(user.organization !== undefined ? { organization: user.organization } : {}),
      ...(ownPatient(user) !== undefined ? { patient: ownPatient(user) } : {}),
    },
    clientId,
    requestId: request.requestId,
    ...(request.sourceIp !== undefined ? { sourceIp: request.sourceIp } : {}),
    ...(request.userAgent !== undefined ? { userAgent: request.userAgent } : {}),
  };
}

/** A patient's own record: the id of their `fhirUser`. */
export function ownPatient(user: User): string | undefined {
  return user.fhirUser?.startsWith('Patient/') ? user.fhirUser.slice('Patient/'.length) : undefined;
}
