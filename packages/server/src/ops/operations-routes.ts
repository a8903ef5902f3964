/**
 * The operator's door (DESIGN.md D18): liveness, readiness and Prometheus metrics.
 *
 * - `/healthz` answers 200 while the process can serve HTTP at all; a load balancer or
 *   orchestrator restarts the process when it stops answering.
 * - `/readyz` answers 200 only when the store is usable (database reachable, migrations applied).
 *   While the server shuts down it answers 503 like every route: the listener stops accepting
 *   connections and Fastify's `return503OnClosing` (app.ts) answers requests on open ones.
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

export const operationsRoutes: FastifyPluginAsync<OperationsRoutesOptions> = async (
  app,
  { store, metrics },
) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const report = await store.readiness().catch((error: unknown) => ({
      ready: false,
      detail: `readiness check failed: ${error instanceof Error ? error.message : String(error)}`,
    }));
    const body: ReadinessReport = { status: report.ready ? 'ready' : 'not-ready', detail: report.detail };
    return reply.code(report.ready ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
};
