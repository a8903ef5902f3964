/**
 * Records every HTTP request in the metrics. Registered with `fastify-plugin` so that its hook
 * sits on the root instance and sees the requests of every door, not only its own context.
 */
import type { FastifyPluginAsync } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { Metrics } from './metrics.ts';

export interface RequestMetricsOptions {
  metrics: Metrics;
}

/**
 * Label for requests that matched no route. Scanners probe thousands of distinct URLs; labelling
 * them by URL would grow the series without bound.
 */
export const UNMATCHED_ROUTE = '<unmatched>';

const requestMetricsPlugin: FastifyPluginAsync<RequestMetricsOptions> = async (app, { metrics }) => {
  // A callback hook: it never waits, and a promise per request would buy nothing.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
};

export const requestMetrics = fastifyPlugin(requestMetricsPlugin, {
  name: 'concordia-request-metrics',
  fastify: '5.x',
});
