/**
 * Who is asking, for what, and from where. Every door builds one per request and every layer
 * below receives it: the store will turn the access decision into a SQL filter from it, and the
 * audit will record it. A request with a bearer token carries a token principal (a user acting
 * through an app, or a client on its own — SMART Backend Services); without one it is anonymous
 * (`CONCORDIA_AUTH=required`) or the open development principal (`open`, ADR 0004).
 */
import type { Role } from './roles.ts';
import type { ParsedScopes } from './smart-scopes.ts';

/**
 * No credentials: public endpoints only (the CapabilityStatement). `rejected`: credentials were
 * presented and did not verify; the core refuses every request with 401 (RFC 6750 §3.1), so that
 * the refusal is audited like any other (issue 7: "denied request … from every door").
 */
export interface AnonymousPrincipal {
  kind: 'anonymous';
  rejected?: { error: 'invalid_request' | 'invalid_token'; description: string };
}

export type Principal =
  | { kind: 'open-development' }
  | AnonymousPrincipal
  | { kind: 'system'; id: string } // internal jobs: migrations, demo loader, CLI import
  | UserPrincipal
  | ClientPrincipal;

/** What a verified access token says, whoever it was issued to. */
export interface TokenGrant {
  /** The token's `scope`, parsed (access/smart-scopes.ts). */
  scopes: ParsedScopes;
  /** OAuth client the token was issued to. */
  clientId: string;
  /** Launch context: the patient the app works on (`launch/patient`, a patient's own record). */
  patient?: string;
  /** `Organization/…` the actor acts for (a practitioner's role, a system client's binding). */
  organization?: string;
  /** Token id (`jti`), for audit and revocation. */
  tokenId?: string;
  /** Expiry, seconds since the epoch. */
  expiresAt: number;
}

/** A person signed in through an app (authorization code flow). */
export interface UserPrincipal extends TokenGrant {
  kind: 'user';
  /** The user's id (the token's `sub`). */
  id: string;
  roles: readonly Role[];
  /** `Practitioner/…`, `Patient/…` or `RelatedPerson/…` (SMART `fhirUser`). */
  fhirUser?: string;
}

/** A client application acting on its own behalf (client credentials, SMART Backend Services). */
export interface ClientPrincipal extends TokenGrant {
  kind: 'client';
  /** The client id (the token's `sub`). */
  id: string;
  roles: readonly Role[];
}

export interface RequestContext {
  principal: Principal;
  /** OAuth client id of the calling application, when known. */
  clientId?: string;
  /** Purpose of use (http://terminology.hl7.org/ValueSet/v3-PurposeOfUse), e.g. TREAT, ETREAT. */
  purposeOfUse?: string;
  /**
   * Break-the-glass (access/break-the-glass.ts): the client asked for emergency access (purpose of
   * use ETREAT) with this reason. Set by the door; the access decision grants it to the emergency
   * role only (anyone else is refused with 403), so a request answered with it set was served under
   * break-the-glass — the audit records it and reports it to the patient.
   */
  breakTheGlass?: { reason: string };
  sourceIp?: string;
  userAgent?: string;
  requestId: string;
}

export function systemContext(id: string, requestId = `system-${id}`): RequestContext {
  return { principal: { kind: 'system', id }, requestId };
}
