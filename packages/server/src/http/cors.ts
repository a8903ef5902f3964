/**
 * Cross-origin access for browser apps (SMART App Launch: a JavaScript app served from its own
 * origin reads the FHIR API with `fetch`). Only the FHIR API and SMART discovery are opened here;
 * the authorization server's endpoints (token, JWKS, OpenID discovery) answer CORS themselves
 * under the same origin list (identity/authorization-server.ts), and the sign-in pages never do.
 *
 * No credentials, ever: the FHIR API authenticates with a bearer header that a page can only send
 * when it holds the token, so opening it to other origins lends them nothing they lack. Cookies
 * are never allowed across origins (no `Access-Control-Allow-Credentials`), so an origin on the
 * list cannot ride on a signed-in user's session.
 */
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface CorsOptions {
  /** `['*']`: any origin; `[]`: none (config.ts, `CONCORDIA_CORS_ORIGINS`). */
  origins: readonly string[];
}

/** What a FHIR client sends beyond the CORS-safelisted headers. */
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'If-Match',
  'If-None-Match',
  'If-Modified-Since',
  'If-None-Exist',
  'Prefer',
  'X-Provenance',
  'X-Request-Id',
];

/**
 * What a FHIR client reads beyond the CORS-safelisted response headers: a create's Location, a
 * version's ETag, an async job's Content-Location, X-Progress and Retry-After, the challenge of
 * a 401.
 */
export const CORS_EXPOSED_HEADERS = [
  'Location',
  'Content-Location',
  'ETag',
  'Last-Modified',
  'X-Progress',
  'Retry-After',
  'Expires',
  'WWW-Authenticate',
  'X-Request-Id',
];

const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Browsers cap how long they keep a preflight answer (Chromium: 2 hours); 10 minutes suffices. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Paths a cross-origin page may call; everything else answers without CORS headers. */
export function corsAppliesTo(url: string): boolean {
  const path = url.split('?', 1)[0] ?? '';
  return path === '/fhir' || path.startsWith('/fhir/') || path === '/.well-known/smart-configuration';
}

/** Whether a browser page of `origin` may call across origins under `allowed`. */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  // `null` is the origin of sandboxed frames and local files: nobody can be held to it.
  if (origin === undefined || origin === 'null') return false;
  return allowed.includes('*') || allowed.includes(origin);
}

/**
 * Adds CORS to `app` itself (the root instance, before the doors are registered): its preflight
 * answers come from an `onRequest` hook, ahead of authentication, since a browser sends no
 * Authorization header in a preflight.
 */
export async function registerCors(app: FastifyInstance, options: CorsOptions): Promise<void> {
  const { origins } = options;
  const closed = { origin: false } as const;
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (request: FastifyRequest, callback) => {
      const origin = request.headers.origin;
      // A request without Origin is not a browser's cross-origin call: nothing to add, and a
      // plain OPTIONS must not be mistaken for a malformed preflight.
      if (origin === undefined || !corsAppliesTo(request.url) || !originAllowed(origins, origin)) {
        return callback(null, closed);
      }
      callback(null, {
        // A named origin is echoed (with Vary: Origin), so caches keep one answer per origin.
        origin: origins.includes('*') ? '*' : origin,
        credentials: false,
        methods: CORS_METHODS,
        allowedHeaders: CORS_ALLOWED_HEADERS,
        exposedHeaders: CORS_EXPOSED_HEADERS,
        maxAge: PREFLIGHT_MAX_AGE_SECONDS,
        strictPreflight: true,
      });
    },
  });
}
