/**
 * Token introspection (RFC 7662) of our JWT access tokens at the authorization server's
 * introspection endpoint. oidc-provider introspects the tokens it stores (refresh tokens) and
 * refuses structured ones with `unsupported_token_type` — after it has authenticated the asking
 * client (§2.1). This middleware answers in its place: the token is checked exactly as the FHIR
 * door checks it (signature, issuer, audience, expiry, revocation: access/bearer-token.ts), so
 * introspection and the door never disagree about a token.
 *
 * §2.2: a token that is expired, revoked, not ours, or that the asking client may not learn about
 * (clients.ts `mayIntrospect`) is `{ "active": false }` and nothing more.
 */
import { decodeJwt, type JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { BearerVerifier } from '../access/bearer-token.ts';
import { OAUTH_ROUTES } from './authorization-server.ts';
import { type ClientRegistry, mayIntrospect } from './clients.ts';

type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

/** Claims an introspection answer repeats from an active token (§2.2, SMART token-introspection). */
const ANSWERED_CLAIMS = [
  'scope',
  'client_id',
  'sub',
  'exp',
  'iat',
  'iss',
  'aud',
  'jti',
  'patient',
  'encounter',
  'fhirUser',
] as const;

export function introspectAccessTokens(verify: BearerVerifier, clients: ClientRegistry): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.path !== OAUTH_ROUTES.introspection || !refusedAsStructured(ctx)) return;
    const asking = ctx.oidc.client;
    const token = ctx.oidc.params?.token;
    if (asking === undefined || typeof token !== 'string') return;
    ctx.status = 200;
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = await introspection(token, verify, async (tokenClientId) =>
      mayIntrospect(await clients.byId(asking.clientId), tokenClientId),
    );
  };
}

async function introspection(
  token: string,
  verify: BearerVerifier,
  mayLearn: (tokenClientId: string) => Promise<boolean>,
): Promise<Record<string, unknown>> {
  const verified = await verify(token);
  if (!verified.ok || !(await mayLearn(verified.issued.clientId))) return { active: false };
  // The signature was just checked, so the payload can be read as it is.
  const claims: JWTPayload = decodeJwt(token);
  const answer: Record<string, unknown> = { active: true, token_type: 'Bearer' };
  for (const name of ANSWERED_CLAIMS) if (claims[name] !== undefined) answer[name] = claims[name];
  return answer;
}

function refusedAsStructured(ctx: KoaContextWithOIDC): boolean {
  const body: unknown = ctx.body;
  return (
    ctx.status === 400 &&
    typeof body === 'object' &&
    body !== null &&
    'error' in body &&
    body.error === 'unsupported_token_type'
  );
}
