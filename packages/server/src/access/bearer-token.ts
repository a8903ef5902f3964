/**
 * Verifies the access tokens our authorization server issues (RFC 9068 JWT access tokens) where
 * they are used, without a database round trip: signature against the published signing keys,
 * `iss`, `aud` = the FHIR base, `exp`/`nbf`. A token signed with a key this process has not seen
 * (another node rotated) makes it reload the keys, at most once per `reloadAfterMs`.
 *
 * A token verified once is remembered until it expires: an app sends the same token with every
 * request for minutes, and checking an RS256 signature costs more than the rest of a read. What a
 * token says cannot change; whether it is still honoured can (its grant, user or client revoked),
 * so that is asked of `revocations` on every request, remembered token or not — an in-memory
 * lookup (identity/token-revocations.ts), not a database round trip.
 */
import { createLocalJWKSet, errors, type JWK, type JWTPayload, jwtVerify } from 'jose';
import type { ClientPrincipal, UserPrincipal } from './request-context.ts';
import { isRole, type Role } from './roles.ts';
import { parseScopes } from './smart-scopes.ts';

export interface BearerVerifierOptions {
  issuer: string;
  /** The FHIR base URL: the only audience the FHIR door accepts. */
  audience: string;
  /** Public signing keys, newest first; called again when a token names an unknown key. */
  loadKeys(): Promise<JWK[]>;
  algorithms: string[];
  reloadAfterMs?: number;
  /** Verified tokens remembered at most (the oldest is forgotten first); default 10,000. */
  rememberedTokens?: number;
  /** Revoked grants, users and clients; absent: a token is honoured until it expires. */
  revocations?: RevocationCheck;
  now?: () => number;
}

/** What a verified access token says about where it came from. */
export interface IssuedToken {
  /** `sub`: the user id, or the client id for a client's own token. */
  subject: string;
  clientId: string;
  /** The grant it was issued under (authorization code and refresh token flows): `grant_id`. */
  grantId?: string;
  /** `iat`, seconds since the epoch. */
  issuedAt: number;
}

export interface RevocationCheck {
  /** Why a token whose signature verified is no longer honoured, or `undefined`. */
  refusal(token: IssuedToken): Promise<string | undefined>;
}

export type TokenPrincipal = UserPrincipal | ClientPrincipal;

export type BearerVerification =
  | { ok: true; principal: TokenPrincipal; issued: IssuedToken }
  | { ok: false; reason: string };

export type BearerVerifier = (token: string) => Promise<BearerVerification>;

export async function createBearerVerifier(options: BearerVerifierOptions): Promise<BearerVerifier> {
  const now = options.now ?? Date.now;
  let keys = await options.loadKeys();
  let jwks = createLocalJWKSet({ keys });
  let loadedAt = Date.now();
  const reloadAfter = options.reloadAfterMs ?? 30_000;
  const remembered = new Map<string, Extract<BearerVerification, { ok: true }>>();
  const limit = options.rememberedTokens ?? 10_000;

  const verify = (token: string) =>
    jwtVerify(token, jwks, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: options.algorithms,
      typ: 'at+jwt',
      clockTolerance: 5,
      currentDate: new Date(now()),
    });

  const honoured = async (verified: BearerVerification): Promise<BearerVerification> => {
    if (!verified.ok || options.revocations === undefined) return verified;
    const refusal = await options.revocations.refusal(verified.issued);
    return refusal === undefined ? verified : { ok: false, reason: refusal };
  };

  return async (token) => {
    const known = remembered.get(token);
    if (known !== undefined) {
      if (known.principal.expiresAt * 1000 > now()) return honoured(known);
      remembered.delete(token);
    }
    try {
      let result: Awaited<ReturnType<typeof verify>>;
      try {
        result = await verify(token);
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey) || Date.now() - loadedAt < reloadAfter) throw error;
        keys = await options.loadKeys();
        jwks = createLocalJWKSet({ keys });
        loadedAt = Date.now();
        result = await verify(token);
      }
      const verified = principalFromClaims(result.payload);
      if (verified.ok) {
        if (remembered.size >= limit) {
          const oldest = remembered.keys().next().value;
          if (oldest !== undefined) remembered.delete(oldest);
        }
        remembered.set(token, verified);
      }
      return await honoured(verified);
    } catch (error) {
      return { ok: false, reason: describe(error) };
    }
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `The access token is not for this server (${error.claim})`;
  if (error instanceof errors.JOSEError) return 'The access token is not valid';
  throw error;
}

function principalFromClaims(claims: JWTPayload): BearerVerification {
  const { sub, exp, iat } = claims;
  const clientId = stringClaim(claims, 'client_id');
  if (sub === undefined || exp === undefined || iat === undefined || clientId === undefined) {
    return { ok: false, reason: 'The access token lacks sub, exp, iat or client_id' };
  }
  const rawRoles = claims.roles;
  const roles: Role[] = Array.isArray(rawRoles)
    ? rawRoles.filter((role): role is Role => typeof role === 'string' && isRole(role))
    : [];
  const patient = stringClaim(claims, 'patient');
  const organization = stringClaim(claims, 'organization');
  const fhirUser = stringClaim(claims, 'fhirUser');
  const base = {
    id: sub,
    roles,
    scopes: parseScopes(stringClaim(claims, 'scope')),
    clientId,
    expiresAt: exp,
    ...(claims.jti !== undefined ? { tokenId: claims.jti } : {}),
    ...(patient !== undefined ? { patient } : {}),
    ...(organization !== undefined ? { organization } : {}),
  };
  // A client's own token carries the `system` role, which no person can hold (identity/users.ts).
  const principal: TokenPrincipal = roles.includes('system')
    ? { kind: 'client', ...base }
    : { kind: 'user', ...base, ...(fhirUser !== undefined ? { fhirUser } : {}) };
  const grantId = stringClaim(claims, 'grant_id');
  const issued: IssuedToken = {
    subject: sub,
    clientId,
    issuedAt: iat,
    ...(grantId !== undefined ? { grantId } : {}),
  };
  return { ok: true, principal, issued };
}

function stringClaim(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
