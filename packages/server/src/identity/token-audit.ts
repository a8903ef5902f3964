/**
 * The audit of the authorization server's own endpoints, as oidc-provider middleware that runs
 * after the endpoint answered; the answer leaves only once the event is stored
 * (audit/sign-in-audit.ts):
 *
 * - the token endpoint for clients acting on their own (client credentials, SMART Backend
 *   Services): every request with `grant_type=client_credentials`, granted or refused, is a BALP
 *   Login event of that client. A person's sign-in is audited on the sign-in pages instead
 *   (interaction-routes.ts);
 * - signing out (OpenID Connect RP-Initiated Logout 1.0, the `end_session` confirmation): a BALP
 *   Logout event of the person whose session ended;
 * - token revocation (RFC 7009): a Logout event of the person (or client) whose grant the revoked
 *   token belonged to — a client revoking its refresh token is how an app signs a user out.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ClaimedUser } from '../audit/audit-event.ts';
import type { SignInAttempt, SignInAudit } from '../audit/sign-in-audit.ts';
import { OAUTH_ROUTES } from './authorization-server.ts';
import type { UserDirectory } from './users.ts';

type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

export function auditedTokenRequests(signIns: SignInAudit, users: UserDirectory): Middleware {
  return async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (ctx.path === OAUTH_ROUTES.token && ctx.method === 'POST') await clientCredentials(ctx, signIns);
    else if (route === 'end_session_confirm') await endSession(ctx, signIns, users);
    else if (route === 'revocation') await revocation(ctx, signIns, users);
  };
}

async function clientCredentials(ctx: KoaContextWithOIDC, signIns: SignInAudit): Promise<void> {
  const params = ctx.oidc?.params;
  if (params?.grant_type !== 'client_credentials') return;
  const succeeded = ctx.status === 200;
  await signIns.record({
    step: 'client-credentials',
    succeeded,
    ...clientOf(requestingClient(ctx)),
    ...(succeeded ? {} : { reason: `token request refused: ${errorOf(ctx)}` }),
    ...network(ctx),
  });
}

/**
 * The confirmation that ends a session. oidc-provider destroys the session but leaves the loaded
 * object, so its account is still known after `next()`. A confirmation that ended nothing (no
 * signed-in account) is not an event; a refused one (a forged or expired form: the xsrf check) is
 * recorded as a failed logout.
 */
async function endSession(
  ctx: KoaContextWithOIDC,
  signIns: SignInAudit,
  users: UserDirectory,
): Promise<void> {
  const accountId = ctx.oidc?.session?.accountId;
  const succeeded = ctx.status < 400;
  // `logout=yes` ends the whole session; without it only the asking client's grant is revoked
  // ("stay signed in" on the confirmation page), and with no client named nothing ended at all.
  const everywhere = typeof ctx.oidc?.params?.logout === 'string' && ctx.oidc.params.logout !== '';
  const clientId = ctx.oidc?.client?.clientId;
  if (succeeded && (accountId === undefined || (!everywhere && clientId === undefined))) return;
  let reason: string;
  if (!succeeded) reason = `sign-out refused: ${errorOf(ctx)}`;
  else if (everywhere) reason = 'session ended';
  else reason = `signed out of client ${clientId} only; the session continues`;
  await signIns.record({
    step: 'logout',
    succeeded,
    ...(accountId !== undefined ? { user: await claimedUser(users, accountId) } : {}),
    ...clientOf(clientId),
    reason,
    ...network(ctx),
  });
}

/**
 * RFC 7009 answers 200 whether or not a token was revoked (§2.2), so the event says what happened:
 * success names the grant's account (or the client, for its own tokens); a request that revoked
 * nothing (unknown, expired or another client's token) or was refused (client authentication, a
 * JWT access token, which cannot be revoked: docs/security.md) is outcome 4 with the reason.
 */
async function revocation(
  ctx: KoaContextWithOIDC,
  signIns: SignInAudit,
  users: UserDirectory,
): Promise<void> {
  const token = ctx.status === 200 ? await revokedToken(ctx) : undefined;
  const attempt: SignInAttempt = {
    step: 'token-revocation',
    succeeded: token !== undefined,
    ...(token?.accountId !== undefined ? { user: await claimedUser(users, token.accountId) } : {}),
    ...clientOf(requestingClient(ctx)),
    ...network(ctx),
  };
  let reason: string;
  if (token !== undefined) reason = `${token.kind} revoked`;
  else if (ctx.status === 200)
    reason = 'no token was revoked: unknown, expired, already revoked or issued to another client';
  else reason = `revocation refused: ${errorOf(ctx)}`;
  await signIns.record({ ...attempt, reason });
}

/**
 * The token this request destroyed. The endpoint names the token it found before its revocation
 * policy may still decline to destroy it, so the store is asked whether it is gone.
 */
async function revokedToken(
  ctx: KoaContextWithOIDC,
): Promise<{ kind: string; accountId?: string } | undefined> {
  const { entities, provider } = ctx.oidc;
  if (entities.RefreshToken !== undefined) {
    const { jti, accountId } = entities.RefreshToken;
    return (await provider.RefreshToken.find(jti)) === undefined
      ? { kind: 'RefreshToken', accountId }
      : undefined;
  }
  if (entities.AccessToken !== undefined) {
    const { jti, accountId } = entities.AccessToken;
    return (await provider.AccessToken.find(jti)) === undefined
      ? { kind: 'AccessToken', accountId }
      : undefined;
  }
  if (entities.ClientCredentials !== undefined) {
    const { jti } = entities.ClientCredentials;
    return (await provider.ClientCredentials.find(jti)) === undefined
      ? { kind: 'ClientCredentials' }
      : undefined;
  }
  return undefined;
}

async function claimedUser(users: UserDirectory, accountId: string): Promise<ClaimedUser> {
  const user = await users.byId(accountId);
  if (user === undefined) return { id: accountId };
  return {
    id: user.id,
    roles: user.roles,
    ...(user.fhirUser !== undefined ? { fhirUser: user.fhirUser } : {}),
  };
}

function requestingClient(ctx: KoaContextWithOIDC): string | undefined {
  const clientId = ctx.oidc?.client?.clientId ?? ctx.oidc?.params?.client_id;
  return typeof clientId === 'string' ? clientId : undefined;
}

function errorOf(ctx: KoaContextWithOIDC): string {
  const body: unknown = ctx.body;
  return typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string'
    ? body.error
    : `status ${ctx.status}`;
}

function network(ctx: KoaContextWithOIDC): Pick<SignInAttempt, 'sourceIp' | 'userAgent'> {
  const userAgent = ctx.get('user-agent');
  return { sourceIp: ctx.ip, ...(userAgent !== '' ? { userAgent } : {}) };
}

function clientOf(clientId: string | undefined): Pick<SignInAttempt, 'clientId'> {
  return clientId !== undefined ? { clientId } : {};
}
