/**
 * Prometheus metrics (DESIGN.md D18). One `Registry` per server instead of prom-client's global
 * default, so that two servers in one process (tests) never share or double-register counters.
 *
 * Label sets are kept small on purpose: `route` is the route template, never the raw URL, and
 * FHIR interactions are labelled by interaction name, not by resource id.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { InteractionName } from '../fhir/interaction.ts';
import type { JobCount } from '../jobs/job-store.ts';

/** Connection counts of the database pool; PGlite reports a pool of one. */
export interface DatabasePoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface MetricsText {
  contentType: string;
  body: string;
}

export interface Metrics {
  /** One finished HTTP request; `route` must be a template such as `/fhir/:type/:id`. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** One finished FHIR interaction, from any door (HTTP, import, HL7 mapping). */
  observeInteraction(interaction: InteractionName, status: number, seconds: number): void;
  /** One request refused for its rate (http/rate-limit.ts), by budget: `api` or `sign-in`. */
  observeThrottled(budget: 'api' | 'sign-in'): void;
  /** Registers the source of the pool gauges; it is called at each scrape, not on a timer. */
  trackDatabasePool(poolStats: () => DatabasePoolStats): void;
  /** Registers the source of the job gauge (jobs by kind and status), read at each scrape. */
  trackJobs(counts: () => Promise<readonly JobCount[]>): void;
  /** The Prometheus exposition text and its content type. */
  render(): Promise<MetricsText>;
}

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(): Metrics {
  const registry = new Registry();
  // Process CPU, memory, GC, handles and event-loop lag (nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests served, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to sending the response, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const fhirInteractions = new Counter({
    name: 'fhir_interactions_total',
    help: 'FHIR interactions handled by the core, by interaction and status code.',
    labelNames: ['interaction', 'status'] as const,
    registers: [registry],
  });
  const fhirDuration = new Histogram({
    name: 'fhir_interaction_duration_seconds',
    help: 'Time the FHIR core took per interaction, by interaction and status code.',
    labelNames: ['interaction', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  const throttled = new Counter({
    name: 'http_requests_throttled_total',
    help: 'HTTP requests refused with 429 for exceeding a rate budget, by budget (api, sign-in).',
    labelNames: ['budget'] as const,
    registers: [registry],
  });

  let poolSource: (() => DatabasePoolStats) | undefined;
  const poolGauge = (name: string, help: string, pick: (stats: DatabasePoolStats) => number): Gauge =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (poolSource !== undefined) this.set(pick(poolSource()));
      },
    });
  poolGauge('db_pool_connections_total', 'Connections open in the database pool.', (s) => s.total);
  poolGauge('db_pool_connections_idle', 'Open connections not serving a query.', (s) => s.idle);
  poolGauge('db_pool_requests_waiting', 'Queries waiting for a free connection.', (s) => s.waiting);

  let jobSource: (() => Promise<readonly JobCount[]>) | undefined;
  new Gauge({
    name: 'jobs',
    help: 'Background jobs in the database (all nodes), by kind and status.',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
    async collect() {
      if (jobSource === undefined) return;
      this.reset();
      // /metrics must still answer while the database is down (/readyz reports that): no series then.
      const counts = await jobSource().catch(() => []);
      for (const { kind, status, count } of counts) this.set({ kind, status }, count);
    },
  });

  // prom-client hashes a label object on every call; the label sets here are few and bounded, so
  // each one's bound children are kept and reused (this is on every request's path).
  const requestSeries = seriesCache((key: string, method: string, route: string, status: string) => {
    const labels = { method, route, status };
    return { count: httpRequests.labels(labels), duration: httpDuration.labels(labels), key };
  });
  const interactionSeries = seriesCache((key: string, interaction: string, status: string) => {
    const labels = { interaction, status };
    return { count: fhirInteractions.labels(labels), duration: fhirDuration.labels(labels), key };
  });

  return {
    observeRequest(method, route, status, seconds) {
      const series = requestSeries(`${method} ${route} ${status}`, method, route, String(status));
      series.count.inc();
      series.duration.observe(seconds);
    },
    observeInteraction(interaction, status, seconds) {
      const series = interactionSeries(`${interaction} ${status}`, interaction, String(status));
      series.count.inc();
      series.duration.observe(seconds);
    },
    observeThrottled(budget) {
      throttled.inc({ budget });
    },
    trackDatabasePool(poolStats) {
      poolSource = poolStats;
    },
    trackJobs(counts) {
      jobSource = counts;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** Memoises the bound children of a label set by its key (first argument). */
function seriesCache<A extends [string, ...string[]], T>(create: (...args: A) => T): (...args: A) => T {
  const cache = new Map<string, T>();
  return (...args: A) => {
    const [key] = args;
    let series = cache.get(key);
    if (series === undefined) {
      series = create(...args);
      cache.set(key, series);
    }
    return series;
  };
}
