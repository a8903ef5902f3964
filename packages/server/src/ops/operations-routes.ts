/**
 * The operator's door (DESIGN.md D18): liveness, readiness and Prometheus metrics.
 *
 * - `/healthz` answers 200 while the process can serve HTTP at all; a load balancer or
 *   orchestrator restarts the process when it stops answering.
 * - `/readyz` answers 200 only when the store is usable (database reachable, migrations applied)
 *   and the server is not shutting down, so traffic is routed away before the listener closes.
 * - `/metrics` is the Prometheus scrape endpoint.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ResourceStore } from '../store/port.ts';
import type { Metrics } from './metrics.ts';

export interface OperationsRoutesOptions {
  store: Pick<ResourceStore, 'readiness'>;
  metrics: Metrics;
}

export interface ReadinessReport {
  status: 'ready' | 'not-ready';
  detail: string;
}

// Probes arrive every few seconds; at info level their request lines would drown the real traffic.
const PROBE_LOG_LEVEL = 'warn';

export const operationsRoutes: FastifyPluginAsync<OperationsRoutesOptions> = async (app, { store, metrics }) => {
  let shuttingDown = false;
  app.addHook('preClose', async () => {
    shuttingDown = true;
  });

  app.get('/healthz', { logLevel: PROBE_LOG_LEVEL }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: PROBE_LOG_LEVEL }, async (_request, reply) => {
    const report = shuttingDown
      ? { ready: false, detail: 'shutting down' }
      : await store.readiness().catch((error: unknown) => ({
          ready: false,
          detail: `readiness check failed: ${error instanceof Error ? error.message : String(error)}`,
        }));
    const body: ReadinessReport = { status: report.ready ? 'ready' : 'not-ready', detail: report.detail };
    return reply.code(report.ready ? 200 : 503).send(body);
  });

  app.get('/metrics', { logLevel: PROBE_LOG_LEVEL }, async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
};
