/**
 * Authentication at a door: who sent this request? A bearer token (RFC 6750) is verified and
 * becomes a token principal. Without credentials the request is anonymous when
 * `CONCORDIA_AUTH=required` (only the CapabilityStatement answers) or served as the open
 * development principal when `open` (ADR 0004). A token that is presented but bad is refused in
 * both modes: a client that sends credentials must learn they do not work.
 */
import type { BearerVerifier } from './bearer-token.ts';
import type { Principal } from './request-context.ts';

export type AuthMode = 'open' | 'required';

export type Authentication =
  | { ok: true; principal: Principal; clientId?: string }
  | { ok: false; error: 'invalid_request' | 'invalid_token'; description: string };

export type Authenticator = (authorization: string | undefined) => Promise<Authentication>;

export function bearerAuthenticator(mode: AuthMode, verifier: BearerVerifier | undefined): Authenticator {
  const unauthenticated: Authentication = {
    ok: true,
    principal: mode === 'open' ? { kind: 'open-development' } : { kind: 'anonymous' },
  };
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return unauthenticated;
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization.trim());
    if (match?.[1] === undefined) {
      return {
        ok: false,
        error: 'invalid_request',
        description: 'Send the access token as Authorization: Bearer <token>',
      };
    }
    if (verifier === undefined) {
      return { ok: false, error: 'invalid_token', description: 'This server issues no access tokens' };
    }
    const verified = await verifier(match[1]);
    if (!verified.ok) return { ok: false, error: 'invalid_token', description: verified.reason };
    return { ok: true, principal: verified.principal, clientId: verified.principal.clientId };
  };
}

/** RFC 6750 §3: the challenge of a 401 answer. */
export function bearerChallenge(realm: string, failure?: { error: string; description: string }): string {
  const quoted = (text: string) => `"${text.replace(/["\\]/g, '')}"`;
  const parts = [`realm=${quoted(realm)}`];
  if (failure !== undefined) {
    parts.push(`error=${quoted(failure.error)}`, `error_description=${quoted(failure.description)}`);
  }
  return `Bearer ${parts.join(', ')}`;
}
