/**
 * Request budgets (issue 6: rate limiting per client and per IP), counted by @fastify/rate-limit in
 * fixed windows of `CONCORDIA_RATE_LIMIT_WINDOW_SECONDS`:
 *
 * - `api`: every request, `CONCORDIA_RATE_LIMIT_MAX` per window for each authenticated client and
 *   user (a verified bearer token: one budget per user of each app, one per backend client), and
 *   for each IP address otherwise. The FHIR door counts after it has verified the token
 *   (http/fhir-door.ts); an unverifiable token counts against its IP, so nobody picks their own key.
 * - `sign-in`: password, one-time-code and enrolment posts and the token, introspection and
 *   revocation endpoints, `CONCORDIA_RATE_LIMIT_SIGN_IN_MAX` per window for each IP address: the
 *   brute-force budget. An account is also locked after repeated failures (identity/users.ts);
 *   this budget stops guessing across many accounts.
 *
 * IPv6 addresses count by their /64 network, which one subscriber usually holds whole. Health,
 * readiness and metrics are never counted. Counts live in this process by default: with several
 * nodes behind a load balancer each node enforces its own budgets. With
 * `CONCORDIA_RATE_LIMIT_REDIS_URL` every node counts in one Redis (one atomic script per request,
 * the plugin's own store), so the budgets are the cluster's. Redis rather than a PostgreSQL table:
 * a counter write per request would otherwise land on the clinical database — WAL or not, row
 * churn, vacuum and pool connections that the FHIR reads and writes need. If Redis cannot be
 * reached, requests are let through uncounted (and logged): an outage of the counter must not
 * take clinical access down with it; account lockout (identity/users.ts) still stops guessing.
 *
 * A refused request is answered 429 with `Retry-After` (RFC 6585 §4), counted in
 * `http_requests_throttled_total`, and audited (http/throttle-audit.ts) — once per key and window,
 * so that a flood is not turned into as many audit writes.
 */
import { type OperationOutcome, operationOutcome } from '@concordia/fhir';
import fastifyRateLimit, { normalizeIP, type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { Principal } from '../access/request-context.ts';
import type { RateLimitConfig } from '../config.ts';
import { renderErrorPage } from '../identity/pages.ts';
import { FHIR_JSON } from './content-negotiation.ts';

export type RateBudget = 'api' | 'sign-in';

/** Who a request is counted against. */
export interface RateSubject {
  key: string;
  /** The verified principal behind `key`, when a token was verified (for the audit). */
  principal?: Principal;
  clientId?: string;
}

export interface Throttled {
  budget: RateBudget;
  subject: RateSubject;
  limit: number;
  windowSeconds: number;
  /** Seconds until the window that refused the request ends. */
  retryAfterSeconds: number;
}

/** A refused request, as the audit and the metrics are told of it. */
export interface Refusal extends Throttled {
  /** First refusal of this key in this window (the audit records only those). */
  first: boolean;
  request: FastifyRequest;
}

export interface RequestThrottle {
  /** Counts `request` against `budget` for `subject`; what refused it, when it is over budget. */
  check(request: FastifyRequest, budget: RateBudget, subject: RateSubject): Promise<Throttled | undefined>;
}

export interface RateLimitingOptions {
  config: RateLimitConfig;
  /** Told of every refusal, after the answer is decided (metrics, audit); must not throw. */
  onRefused?: (refusal: Refusal) => void;
}

/** Most keys a budget tracks; the least recently seen are forgotten first. */
const TRACKED_KEYS = 100_000;

/** The key of an IP address: IPv4 as is, IPv6 by its /64 network. */
export function addressKey(ip: string): string {
  // Every request asks: an address without a colon is not IPv6, and `normalizeIP` would run it
  // through its long IPv6 pattern only to lower-case it.
  return ip.includes(':') ? `ip:${normalizeIP(ip)}` : `ip:${ip.toLowerCase()}`;
}

/** The `api` key of a request whose token was verified (`principal`), else of its address. */
export function subjectOf(principal: Principal | undefined, ip: string): RateSubject {
  if (principal?.kind === 'user')
    return { key: `user:${principal.clientId}:${principal.id}`, principal, clientId: principal.clientId };
  if (principal?.kind === 'client')
    return { key: `client:${principal.id}`, principal, clientId: principal.id };
  return { key: addressKey(ip) };
}

/**
 * Registers the counters on the root instance and returns the throttle the doors ask;
 * `undefined` when `CONCORDIA_RATE_LIMIT=off`.
 */
export async function createRequestThrottle(
  app: FastifyInstance,
  options: RateLimitingOptions,
): Promise<RequestThrottle | undefined> {
  const { config } = options;
  if (!config.enabled) return undefined;
  const redis = config.redisUrl !== undefined ? await sharedCounter(app, config.redisUrl) : undefined;
  // `global: false`: no route gets the plugin's own hook; the doors ask `check` (keys need the token).
  await app.register(fastifyRateLimit, {
    global: false,
    ...(redis !== undefined ? { redis, nameSpace: 'concordia-rate:', skipOnError: true } : {}),
  });
  const windowMs = config.windowSeconds * 1000;
  const keys = new WeakMap<FastifyRequest, string>();
  const limiter = (budget: RateBudget, max: number) => {
    const keyOf = (request: FastifyRequest) => keys.get(request) ?? addressKey(request.ip);
    const limiterOptions: RateLimitOptions = {
      max,
      timeWindow: windowMs,
      cache: TRACKED_KEYS,
      // In memory each budget has a store of its own; in Redis both share one key space.
      keyGenerator: redis !== undefined ? (request) => `${budget}:${keyOf(request)}` : keyOf,
    };
    return app.createRateLimit(limiterOptions);
  };
  const limiters = { api: limiter('api', config.max), 'sign-in': limiter('sign-in', config.signInMax) };
  const limits = { api: config.max, 'sign-in': config.signInMax };
  const refusedWindows = new RefusedWindows();
  return {
    async check(request, budget, subject) {
      keys.set(request, subject.key);
      const counted = await limiters[budget](request);
      if (counted.isAllowed || !counted.isExceeded) return undefined;
      const throttled: Throttled = {
        budget,
        subject,
        limit: limits[budget],
        windowSeconds: config.windowSeconds,
        retryAfterSeconds: Math.max(1, counted.ttlInSeconds),
      };
      const first = refusedWindows.isFirst(`${budget} ${subject.key}`, Date.now() + counted.ttl);
      options.onRefused?.({ ...throttled, first, request });
      return throttled;
    },
  };
}

/**
 * The Redis connection the nodes count in, closed with the app; returned once it answers or its
 * first attempt failed (the server starts either way). A command fails at once while Redis is
 * unreachable (no offline queue, no retries per command), so a request waits for no reconnect.
 */
async function sharedCounter(app: FastifyInstance, url: string): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    commandTimeout: 500,
  });
  let reported = false;
  redis.on('error', (error: Error) => {
    // Reconnecting emits an error per attempt: reported once until it answers again.
    if (!reported) app.log.warn({ err: error }, 'rate-limit counter (Redis) unavailable; not counting');
    reported = true;
  });
  redis.on('ready', () => {
    reported = false;
  });
  app.addHook('onClose', async () => {
    redis.disconnect();
  });
  await new Promise<void>((resolve) => {
    const settled = () => {
      redis.off('ready', settled);
      redis.off('error', settled);
      resolve();
    };
    redis.once('ready', settled);
    redis.once('error', settled);
  });
  return redis;
}

/**
 * Paths of the `sign-in` budget (POST only): where a password, a one-time code, a client secret
 * or a token is tried.
 */
const SIGN_IN_PATHS = [
  /^\/oauth2\/interaction\/[^/?]+\/(?:login|mfa|enrol)(?:\?|$)/,
  /^\/oauth2\/(?:token|introspect|revoke)(?:\?|$)/,
];

/** The FHIR door's routes (http/fhir-door.ts), which count for themselves. */
const FHIR_DOOR_ROUTES = new Set(['/fhir', '/fhir/', '/fhir/*']);

/** Never counted: what load balancers and Prometheus poll. */
const UNCOUNTED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Counts every request outside the FHIR door (which counts its own after verifying the token):
 * the sign-in budget for sign-in posts, the address's `api` budget for the rest.
 */
export function throttleOtherDoors(app: FastifyInstance, throttle: RequestThrottle): void {
  const countOther = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const signIn = request.method === 'POST' && SIGN_IN_PATHS.some((path) => path.test(request.url));
    const throttled = await throttle.check(request, signIn ? 'sign-in' : 'api', {
      key: addressKey(request.ip),
    });
    if (throttled !== undefined) sendThrottled(reply, request.url, throttled);
  };
  // A callback hook, so that the FHIR door's requests (most of them), which it only lets pass,
  // cost no promise here.
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && (FHIR_DOOR_ROUTES.has(route) || UNCOUNTED_ROUTES.has(route))) return done();
    countOther(request, reply).then(
      () => {
        if (!reply.sent) done();
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  });
}

/** The refusal's words, for the answer and the audit. */
export function throttledReason(throttled: Throttled): string {
  const what = throttled.budget === 'sign-in' ? 'sign-in and token requests' : 'requests';
  return `Too many ${what}: at most ${throttled.limit} per ${throttled.windowSeconds} s; retry in ${throttled.retryAfterSeconds} s`;
}

/**
 * The 429 in the door's own language: an OperationOutcome (issue code `throttled`) for FHIR and
 * the other APIs, an RFC 6749 error object for the authorization server's endpoints, and an
 * HTML page for the sign-in pages a person sees.
 */
export function sendThrottled(reply: FastifyReply, url: string, throttled: Throttled): FastifyReply {
  reply.code(429).header('retry-after', String(throttled.retryAfterSeconds));
  const reason = throttledReason(throttled);
  if (url.startsWith('/oauth2/interaction/')) {
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .send(renderErrorPage('temporarily_unavailable', reason));
  }
  if (url.startsWith('/oauth2/') || url.startsWith('/.well-known/openid-configuration')) {
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ error: 'temporarily_unavailable', error_description: reason }));
  }
  return reply
    .header('content-type', `${FHIR_JSON}; charset=utf-8`)
    .send(JSON.stringify(throttledOutcome(reason)));
}

export function throttledOutcome(reason: string): OperationOutcome {
  return operationOutcome([{ severity: 'error', code: 'throttled', diagnostics: reason }]);
}

/** Which keys were already refused in their current window; bounded, expired entries dropped. */
class RefusedWindows {
  private readonly windowEnds = new Map<string, number>();

  isFirst(key: string, windowEnd: number): boolean {
    const now = Date.now();
    const known = this.windowEnds.get(key);
    if (known !== undefined && known > now) return false;
    if (this.windowEnds.size >= TRACKED_KEYS) {
      for (const [name, end] of this.windowEnds) if (end <= now) this.windowEnds.delete(name);
      // Still full of live windows (a flood from many keys): forget the oldest.
      if (this.windowEnds.size >= TRACKED_KEYS) {
        const oldest = this.windowEnds.keys().next();
        if (oldest.done !== true) this.windowEnds.delete(oldest.value);
      }
    }
    this.windowEnds.set(key, windowEnd);
    return true;
  }
}
