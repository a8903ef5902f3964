/**
 * The OAuth 2.0 / OpenID Connect door: an encapsulated Fastify plugin (DESIGN.md D2) that hands
 * the authorization server's paths to oidc-provider untouched, and serves the sign-in pages and
 * SMART discovery itself.
 *
 * oidc-provider is a Koa application. Mounting it through a hijacked raw handler — rather than an
 * Express-compatibility layer such as @fastify/middie — keeps Fastify's own routing, logging and
 * request ids, leaves the body stream unread for the provider (this plugin's catch-all parser
 * does not consume it), and lets RFC 6749 errors pass exactly as the provider writes them.
 * The forwarded host, protocol and client address are set here from `CONCORDIA_BASE_URL` and
 * the socket, replacing whatever the client sent, so every URL the provider builds matches the
 * issuer.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from 'oidc-provider';
import type { Authenticator } from '../access/authenticate.ts';
import { OAUTH_PREFIX, OAUTH_ROUTES } from './authorization-server.ts';
import type { ClientRegistry } from './clients.ts';
import { ehrLaunchRoutes } from './ehr-launch.ts';
import { type InteractionRoutesOptions, interactionRoutes } from './interaction-routes.ts';
import { renderErrorPage } from './pages.ts';
import { smartConfiguration } from './smart-configuration.ts';

export interface OAuthDoorOptions extends Omit<InteractionRoutesOptions, 'provider'> {
  provider: Provider;
  issuer: string;
  fhirBase: string;
  clients: ClientRegistry;
  /** Bearer tokens of the EHRs that mint launches (ehr-launch.ts). */
  authenticate: Authenticator;
}

const PROVIDER_METHODS = ['GET', 'HEAD', 'POST', 'OPTIONS', 'DELETE', 'PUT'] as const;

export async function oauthDoor(app: FastifyInstance, options: OAuthDoorOptions): Promise<void> {
  const { provider, issuer } = options;
  const base = new URL(issuer);
  const basePath = base.pathname.replace(/\/+$/, '');
  const callback = provider.callback();

  app.addHook('onRequest', async (request) => {
    const headers = request.raw.headers;
    headers['x-forwarded-host'] = base.host;
    headers['x-forwarded-proto'] = base.protocol.slice(0, -1);
    headers['x-forwarded-for'] = request.ip;
    // Koa derives the mount path from `originalUrl` when the issuer has a path of its own.
    if (basePath !== '') Object.assign(request.raw, { originalUrl: `${basePath}${request.raw.url ?? ''}` });
  });

  const smart = JSON.stringify(smartConfiguration(issuer));
  const sendSmart = (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(smart);
  app.get('/fhir/.well-known/smart-configuration', sendSmart);
  app.get('/.well-known/smart-configuration', sendSmart);

  await app.register(async (providerScope) => {
    // Leave bodies unread: oidc-provider parses its own requests.
    providerScope.removeAllContentTypeParsers();
    providerScope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const fhirBase = `${issuer.replace(/\/+$/, '')}/fhir`;
    const handOver = (request: FastifyRequest, reply: FastifyReply) => {
      if (request.method === 'GET' && request.raw.url?.startsWith(`${OAUTH_ROUTES.authorization}?`)) {
        const problem = smartAuthorizationRequest(request, fhirBase);
        if (problem !== undefined) {
          return reply
            .code(400)
            .header('content-type', 'text/html; charset=utf-8')
            .send(renderErrorPage('invalid_request', problem));
        }
      }
      reply.hijack();
      callback(request.raw, reply.raw);
    };
    providerScope.route({ method: [...PROVIDER_METHODS], url: `${OAUTH_PREFIX}/*`, handler: handOver });
    providerScope.route({
      method: ['GET', 'HEAD', 'OPTIONS'],
      url: '/.well-known/openid-configuration',
      handler: handOver,
    });
  });

  await app.register(interactionRoutes, options);
  await app.register(ehrLaunchRoutes, options);
}

/**
 * SMART App Launch on top of OpenID Connect, for an authorization request sent with GET:
 * - `aud` must name this FHIR server (app-launch.html#request-4), so a token meant for us is never
 *   obtained by an app that thinks it talks to another server;
 * - `offline_access` needs `prompt=consent` in OpenID Connect Core §11; SMART apps do not send it,
 *   so it is added — the user always sees the consent page before an app gets a refresh token.
 * Rewrites the URL in place; returns a problem to answer with, if any.
 */
function smartAuthorizationRequest(request: FastifyRequest, fhirBase: string): string | undefined {
  const url = new URL(request.raw.url ?? '', 'http://placeholder');
  const aud = url.searchParams.get('aud');
  if (aud !== null && aud.replace(/\/+$/, '') !== fhirBase) {
    return `aud must be this server's FHIR base URL, ${fhirBase}`;
  }
  const scopes = (url.searchParams.get('scope') ?? '').split(' ');
  if (scopes.includes('offline_access') && !url.searchParams.has('prompt')) {
    url.searchParams.set('prompt', 'consent');
    request.raw.url = `${url.pathname}${url.search}`;
  }
  return undefined;
}
