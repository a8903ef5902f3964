/**
 * `buildApp(deps)` assembles the HTTP server from already-built components and never listens:
 * `main.ts` listens, tests call `app.inject()`. Each door is an encapsulated Fastify plugin
 * (DESIGN.md D2), so the FHIR door's parsers and error handler do not leak into the others.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { bearerAuthenticator } from './access/authenticate.ts';
import type { Config } from './config.ts';
import type { FhirCore } from './fhir/interaction.ts';
import { registerBodyLimits } from './http/body-limits.ts';
import { registerCors } from './http/cors.ts';
import { fhirDoor } from './http/fhir-door.ts';
import { createRequestThrottle, type Refusal, throttleOtherDoors } from './http/rate-limit.ts';
import { registerSecurityHeaders } from './http/security-headers.ts';
import { httpsServerFactory, loadTlsCredentials } from './http/tls.ts';
import { ADMIN_PREFIX, adminDoor } from './identity/admin-door.ts';
import type { Identity } from './identity/identity.ts';
import { oauthDoor } from './identity/oauth-door.ts';
import type { Ledger } from './ledger/ledger.ts';
import { ledgerDoor } from './ledger/ledger-door.ts';
import { AccessLog } from './ops/access-log.ts';
import type { Metrics } from './ops/metrics.ts';
import { operationsRoutes } from './ops/operations-routes.ts';
import { deferredRequestLogger } from './ops/request-logger.ts';
import { requestMetrics } from './ops/request-metrics.ts';
import type { ResourceStore } from './store/port.ts';

export interface AppDeps {
  config: Config;
  /** Only readiness is needed here; the core holds the store itself. */
  store: Pick<ResourceStore, 'readiness'>;
  core: FhirCore;
  /** A pino logger (pino's Logger satisfies Fastify's logger interface). */
  logger: FastifyBaseLogger;
  metrics: Metrics;
  /**
   * The authorization server and token verification (identity/identity.ts). Without it no token
   * is issued or accepted, and `config.authMode` alone decides what an unauthenticated request gets.
   */
  identity?: Identity;
  /** The ledger (ledger/ledger.ts): without it (`CONCORDIA_LEDGER=off`) there is no `/ledger` door. */
  ledger?: Ledger;
  /** Records a request refused for its rate (http/throttle-audit.ts); absent: not audited. */
  auditThrottled?: (refusal: Refusal) => void;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = await buildHttpServer(deps);
  registerCors(app, { origins: deps.config.corsOrigins });
  registerBodyLimits(app);
  const { metrics, auditThrottled } = deps;
  const throttle = await createRequestThrottle(app, {
    config: deps.config.rateLimit,
    onRefused: (refusal) => {
      metrics.observeThrottled(refusal.budget);
      auditThrottled?.(refusal);
    },
  });
  if (throttle !== undefined) throttleOtherDoors(app, throttle);
  const { identity } = deps;
  if (identity !== undefined) {
    await app.register(oauthDoor, { ...identity });
    await app.register(adminDoor, { ...identity, prefix: ADMIN_PREFIX });
  }
  await app.register(fhirDoor, {
    prefix: '/fhir',
    core: deps.core,
    config: deps.config,
    metrics: deps.metrics,
    ...(identity !== undefined ? { authenticate: identity.authenticate } : {}),
    ...(throttle !== undefined ? { throttle } : {}),
  });
  if (deps.ledger !== undefined) {
    await app.register(ledgerDoor, {
      prefix: '/ledger',
      ledger: deps.ledger,
      core: deps.core,
      authenticate: identity?.authenticate ?? bearerAuthenticator(deps.config.authMode, undefined),
    });
  }
  return app;
}

export type HttpServerDeps = Pick<AppDeps, 'config' | 'logger' | 'metrics' | 'store'>;

/**
 * The HTTP stack every door shares: HTTPS when configured, security headers, logging with request
 * ids, metrics, health and readiness, graceful-shutdown behaviour. The benchmark's floor runs on
 * exactly this stack.
 */
export async function buildHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const { tls } = deps.config;
  const credentials = tls === undefined ? undefined : await loadTlsCredentials(tls);
  const app = Fastify({
    ...(credentials !== undefined ? { serverFactory: httpsServerFactory(credentials) } : {}),
    loggerInstance: deps.logger,
    bodyLimit: deps.config.maxBodyBytes,
    genReqId: requestIdFrom,
    requestIdHeader: 'x-request-id',
    logController: new AccessLog(),
    // Each request's logger becomes a pino child only when it writes a line (ops/request-logger.ts).
    childLoggerFactory: deferredRequestLogger,
    // Graceful shutdown: stop accepting, let in-flight requests finish (main.ts bounds the wait).
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Only the configured proxies may name the client in X-Forwarded-For (rate limits, audit).
    trustProxy: deps.config.trustProxy.length > 0 ? [...deps.config.trustProxy] : false,
  });
  registerSecurityHeaders(app, { hsts: deps.config.hsts, servesTls: credentials !== undefined });
  // Clients and proxies can quote the id that every log line of the request carries. (Hooks on
  // every request's path that never wait take Fastify's callback, not a promise each.)
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  await app.register(requestMetrics, { metrics: deps.metrics });
  await app.register(operationsRoutes, { store: deps.store, metrics: deps.metrics });
  return app;
}

// Unique per process start and counter: no clock read or random draw on every request.
const requestIdPrefix = `${process.pid.toString(36)}-${Date.now().toString(36)}-`;
let requestCounter = 0;
function requestIdFrom(): string {
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER;
  return requestIdPrefix + requestCounter.toString(36);
}
