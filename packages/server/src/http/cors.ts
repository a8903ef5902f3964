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
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

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
 *
 * The answers are those `@fastify/cors` gave with a per-request options delegator, written here
 * because that delegator rebuilt and merged its options twice on every request, with or without
 * an `Origin` (about 3% of the server's CPU per `$validate-code`, docs/terminology.md): every
 * answer varies by `Origin`; an allowed origin gets `Access-Control-Allow-Origin` and the exposed
 * headers; a CORS-preflight request (Fetch: `OPTIONS` with `Access-Control-Request-Method`) is answered
 * 204 with the methods, headers and max age, and an `OPTIONS` from an allowed origin without that
 * header is refused 400, as the library's `strictPreflight` did.
 */
export function registerCors(app: FastifyInstance, options: CorsOptions): void {
  const { origins } = options;
  const anyOrigin = origins.includes('*');
  const methods = CORS_METHODS.join(', ');
  const allowedHeaders = CORS_ALLOWED_HEADERS.join(', ');
  const exposedHeaders = CORS_EXPOSED_HEADERS.join(', ');
  const maxAge = String(PREFLIGHT_MAX_AGE_SECONDS);
  // A callback hook, not an async one: it runs on every request of every door, and a promise
  // per request buys nothing here.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    // Whether CORS headers come depends on Origin, so shared caches must key on it, even for an
    // answer without them (Fetch, "CORS protocol and HTTP caches").
    varyByOrigin(reply);
    const origin = request.headers.origin;
    // A request without Origin is not a browser's cross-origin call: nothing to add, and a
    // plain OPTIONS must not be mistaken for a malformed preflight.
    if (origin === undefined || !corsAppliesTo(request.url) || !originAllowed(origins, origin)) {
      return done();
    }
    // A named origin is echoed (with Vary: Origin), so caches keep one answer per origin.
    reply.header('access-control-allow-origin', anyOrigin ? '*' : origin);
    reply.header('access-control-expose-headers', exposedHeaders);
    if (request.raw.method !== 'OPTIONS') return done();
    if (origin === '' || !request.headers['access-control-request-method']) {
      reply.code(400).type('text/plain').send('Invalid Preflight Request');
      return;
    }
    reply.header('access-control-allow-methods', methods);
    reply.header('access-control-allow-headers', allowedHeaders);
    reply.header('access-control-max-age', maxAge);
    // Safari waits for a body on a 204 without Content-Length.
    reply.code(204).header('content-length', '0').send();
  });
  // Preflights are answered by the hook; any other OPTIONS outside a door's own routes (a plain
  // one, or one CORS does not open) is a 404 of the door it falls under.
  app.options('*', (_request, reply) => {
    reply.callNotFound();
  });
}

/** Adds `Origin` to the answer's `Vary` unless it is there already (or `Vary: *`). */
function varyByOrigin(reply: FastifyReply): void {
  const vary = reply.getHeader('vary');
  if (vary === undefined) {
    reply.header('vary', 'Origin');
    return;
  }
  const present = String(vary)
    .split(',')
    .map((name) => name.trim().toLowerCase());
  if (!present.includes('*') && !present.includes('origin')) reply.header('vary', `${String(vary)}, Origin`);
}
