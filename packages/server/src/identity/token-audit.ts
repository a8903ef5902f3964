/**
 * The audit of the token endpoint for clients acting on their own (client credentials, SMART
 * Backend Services): every token request with `grant_type=client_credentials`, granted or refused,
 * becomes a BALP Login event of that client (audit/sign-in-audit.ts). A person's sign-in is
 * audited on the sign-in pages instead (interaction-routes.ts). Runs as oidc-provider middleware
 * after the endpoint answered, and the answer leaves only once the event is stored.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { SignInAudit } from '../audit/sign-in-audit.ts';
import { OAUTH_ROUTES } from './authorization-server.ts';

export function auditedTokenRequests(signIns: SignInAudit) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    if (ctx.path !== OAUTH_ROUTES.token || ctx.method !== 'POST') return;
    const params = ctx.oidc?.params;
    if (params?.grant_type !== 'client_credentials') return;
    const clientId =
      ctx.oidc?.client?.clientId ?? (typeof params.client_id === 'string' ? params.client_id : undefined);
    const body: unknown = ctx.body;
    const error =
      typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string'
        ? body.error
        : undefined;
    const succeeded = ctx.status === 200;
    const userAgent = ctx.get('user-agent');
    await signIns.record({
      step: 'client-credentials',
      succeeded,
      ...(clientId !== undefined ? { clientId } : {}),
      ...(succeeded ? {} : { reason: `token request refused: ${error ?? `status ${ctx.status}`}` }),
      sourceIp: ctx.ip,
      ...(userAgent !== '' ? { userAgent } : {}),
    });
  };
}
