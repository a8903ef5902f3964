import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/ops/metrics.ts';
import { requestMetrics, UNMATCHED_ROUTE } from '../../src/ops/request-metrics.ts';

describe('createMetrics', () => {
  it('exposes process metrics, including event-loop lag, in its own registry', async () => {
    const { contentType, body } = await createMetrics().render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('nodejs_eventloop_lag_seconds');
    expect(body).toContain('process_resident_memory_bytes');
  });

  it('keeps two instances apart, so two servers in one process do not share counters', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.observeInteraction('read', 200, 0.002);
    expect((await first.render()).body).toContain(
      'fhir_interactions_total{interaction="read",status="200"} 1',
    );
    expect((await second.render()).body).not.toContain('fhir_interactions_total{interaction="read"');
  });

  it('counts FHIR interactions and their durations by interaction and status', async () => {
    const metrics = createMetrics();
    metrics.observeInteraction('create', 201, 0.004);
    metrics.observeInteraction('create', 201, 0.006);
    metrics.observeInteraction('read', 404, 0.001);
    const { body } = await metrics.render();
    expect(body).toContain('fhir_interactions_total{interaction="create",status="201"} 2');
    expect(body).toContain('fhir_interactions_total{interaction="read",status="404"} 1');
    expect(body).toContain('fhir_interaction_duration_seconds_count{interaction="create",status="201"} 2');
    expect(body).toMatch(
      /fhir_interaction_duration_seconds_sum\{interaction="create",status="201"\} 0\.01\b/,
    );
  });

  it('reads the database pool gauges from the registered callback at scrape time', async () => {
    const metrics = createMetrics();
    let waiting = 0;
    metrics.trackDatabasePool(() => ({ total: 10, idle: 7, waiting }));
    waiting = 3;
    const { body } = await metrics.render();
    expect(body).toContain('db_pool_connections_total 10');
    expect(body).toContain('db_pool_connections_idle 7');
    expect(body).toContain('db_pool_requests_waiting 3');
  });
});

describe('requestMetrics', () => {
  it('labels requests with the route template, not the URL, and unmatched URLs with one label', async () => {
    const metrics = createMetrics();
    const app = Fastify();
    await app.register(requestMetrics, { metrics });
    // Registered in a child context: the hook must still see it (fastify-plugin, not encapsulated).
    await app.register(async (door) => {
      door.get('/fhir/:type/:id', async () => ({ ok: true }));
    });
    await app.inject({ method: 'GET', url: '/fhir/Patient/1' });
    await app.inject({ method: 'GET', url: '/fhir/Patient/2' });
    await app.inject({ method: 'GET', url: '/wp-login.php' });
    const { body } = await metrics.render();
    expect(body).toContain('http_requests_total{method="GET",route="/fhir/:type/:id",status="200"} 2');
    expect(body).toContain(`http_requests_total{method="GET",route="${UNMATCHED_ROUTE}",status="404"} 1`);
    expect(body).not.toContain('Patient/1');
    expect(body).toContain(
      'http_request_duration_seconds_count{method="GET",route="/fhir/:type/:id",status="200"} 2',
    );
    await app.close();
  });
});
