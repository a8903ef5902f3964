/**
 * Security headers on every answer (OWASP Secure Headers; https://owasp.org/www-project-secure-headers/):
 *
 * - `X-Content-Type-Options: nosniff` — a Binary served as itself keeps its declared type;
 * - `Referrer-Policy: no-referrer` — a URL with a search or a sign-in's interaction id never leaks
 *   to the next site through `Referer`;
 * - `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'` — nothing of ours is framed
 *   (clickjacking of the sign-in and consent pages);
 * - `Cross-Origin-Resource-Policy: same-origin` — another site cannot embed an answer with
 *   `<img>`/`<script>`. It does not touch CORS: browsers check it only on no-cors requests, and a
 *   SMART app's `fetch` is a CORS request (http/cors.ts);
 * - `Cache-Control: no-store` on the FHIR API (health data) and the authorization server (tokens,
 *   codes): neither a shared nor a browser cache keeps them. The CapabilityStatement and the
 *   discovery documents stay cacheable;
 * - `Strict-Transport-Security` when this server serves HTTPS, or always when
 *   `CONCORDIA_HSTS=on` says TLS ends at a proxy in front (RFC 6797).
 *
 * They are written to the raw response in `onRequest`, before any door runs: oidc-provider answers
 * through a hijacked reply that Fastify's `onSend` hooks never see, and a door that sets one of
 * them itself (the sign-in pages' own CSP, SMART discovery's caching) still wins, since the headers
 * Fastify sends take precedence over those set on the raw response.
 */
import type { FastifyInstance } from 'fastify';
import type { HstsConfig } from '../config.ts';

export interface SecurityHeadersOptions {
  hsts: HstsConfig;
  /** Whether this server itself serves HTTPS (`CONCORDIA_TLS_CERT`). */
  servesTls: boolean;
}

/**
 * The API's answers are data, never pages: nothing loads, nothing runs (`sandbox` also stops a
 * Binary of type `text/html` opened in a browser from running script as this origin).
 */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

/**
 * oidc-provider's own pages (form_post, sign-out confirmation, error pages) carry inline script
 * that it allows by hash only when a CSP already has `script-src`; framing is what they must not
 * allow. The sign-in pages replace this with their full policy (identity/interaction-routes.ts).
 */
export const AUTHORIZATION_SERVER_CSP = "frame-ancestors 'none'";

const DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'";

/** `Strict-Transport-Security`, or `undefined` when it is not to be sent. */
export function hstsHeader(hsts: HstsConfig, servesTls: boolean): string | undefined {
  if (hsts.mode === 'off' || (hsts.mode === 'auto' && !servesTls)) return undefined;
  return `max-age=${hsts.maxAgeSeconds}${hsts.includeSubDomains ? '; includeSubDomains' : ''}`;
}

type Area = 'fhir' | 'fhir-public' | 'authorization-server' | 'authorization-public' | 'other';

/** Which part of the server a URL belongs to, for its caching and CSP. */
export function areaOf(url: string): Area {
  const end = url.indexOf('?');
  const path = end === -1 ? url : url.slice(0, end);
  if (path === '/fhir' || path.startsWith('/fhir/')) {
    return path === '/fhir/metadata' || path.startsWith('/fhir/.well-known/') ? 'fhir-public' : 'fhir';
  }
  if (path.startsWith('/oauth2/'))
    return path === '/oauth2/jwks' ? 'authorization-public' : 'authorization-server';
  if (path === '/.well-known/openid-configuration') return 'authorization-public';
  return 'other';
}

/** Each area's CSP, and whether its answers must not be stored (health data, tokens, codes). */
const AREA_HEADERS: Record<Area, { csp: string; noStore: boolean }> = {
  fhir: { csp: API_CSP, noStore: true },
  'fhir-public': { csp: API_CSP, noStore: false },
  'authorization-server': { csp: AUTHORIZATION_SERVER_CSP, noStore: true },
  'authorization-public': { csp: AUTHORIZATION_SERVER_CSP, noStore: false },
  other: { csp: DOCUMENT_CSP, noStore: false },
};

export function registerSecurityHeaders(app: FastifyInstance, options: SecurityHeadersOptions): void {
  const hsts = hstsHeader(options.hsts, options.servesTls);
  app.addHook('onRequest', async (request, reply) => {
    const raw = reply.raw;
    raw.setHeader('x-content-type-options', 'nosniff');
    raw.setHeader('referrer-policy', 'no-referrer');
    raw.setHeader('x-frame-options', 'DENY');
    raw.setHeader('cross-origin-resource-policy', 'same-origin');
    if (hsts !== undefined) raw.setHeader('strict-transport-security', hsts);
    const { csp, noStore } = AREA_HEADERS[areaOf(request.url)];
    if (noStore) raw.setHeader('cache-control', 'no-store');
    raw.setHeader('content-security-policy', csp);
  });
}
