/**
 * The operator's door on the real application: liveness, readiness against a real store, and the
 * Prometheus text after real FHIR traffic.
 */
import { Writable } from 'node:stream';
import { indexResource } from '@concordia/fhir';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createFhirCore } from '../../src/fhir/core.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPgliteDatabase } from '../../src/store/pglite.ts';
import { createResourceStore } from '../../src/store/resource-store.ts';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, FHIR_JSON, json, patient, type TestApp } from '../support/test-app.ts';

for (const database of testDatabases()) {
  describe(`operations endpoints on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('answers /healthz with 200 while the process runs', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(response.statusCode).toBe(200);
      expect(json(response.body)).toEqual({ status: 'ok' });
    });

    it('answers /readyz with 200 when the store is ready', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(200);
      expect(json(response.body)).toMatchObject({ status: 'ready' });
    });

    it('serves Prometheus text that counts the FHIR interactions and HTTP requests served', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: patient(),
      });
      expect(created.statusCode).toBe(201);
      await t.app.inject({ method: 'GET', url: `/fhir/Patient/${String(json(created.body).id)}` });

      const response = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(response.body).toContain('fhir_interactions_total{interaction="create",status="201"} 1');
      expect(response.body).toContain('fhir_interactions_total{interaction="read",status="200"} 1');
      expect(response.body).toMatch(
        /fhir_interaction_duration_seconds_count\{interaction="create",status="201"\} 1/,
      );
      expect(response.body).toContain('http_requests_total{method="POST",route="/fhir/*",status="201"} 1');
      expect(response.body).toContain('http_requests_total{method="GET",route="/healthz",status="200"}');
      expect(response.body).toContain('nodejs_eventloop_lag_seconds');
    });
  });
}

describe('/readyz when the store is not ready', () => {
  it("answers 503 with the store's reason while migrations are pending", async () => {
    // A real store on a database nobody has migrated: the state of a node started before `migrate`.
    const { app, close } = await appOnMemoryDatabase({ migrated: false });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(json(response.body)).toMatchObject({
        status: 'not-ready',
        detail: expect.stringMatching(/migration/i),
      });
      const live = await app.inject({ method: 'GET', url: '/healthz' });
      expect(live.statusCode).toBe(200);
    } finally {
      await close();
    }
  });
});

describe('request logging', () => {
  it('carries the request id in every line of a request and never logs the Authorization header', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
        done();
      },
    });
    const { app, close } = await appOnMemoryDatabase({
      migrated: true,
      logger: createLogger({ logLevel: 'debug' }, sink),
    });
    try {
      await app.inject({
        method: 'GET',
        url: '/fhir/Patient/unknown-id',
        headers: { 'x-request-id': 'trace-4711', authorization: 'Bearer secret-token' },
      });
      const ofRequest = lines.filter((line) => line.requestId === 'trace-4711');
      expect(ofRequest.map((line) => line.msg)).toEqual(
        expect.arrayContaining(['incoming request', 'request completed']),
      );
      // Every line that speaks of this request carries its id.
      const mentioning = lines.filter((line) => JSON.stringify(line).includes('unknown-id'));
      expect(mentioning.length).toBeGreaterThan(0);
      expect(mentioning.every((line) => line.requestId === 'trace-4711')).toBe(true);
      expect(JSON.stringify(lines)).not.toContain('secret-token');
    } finally {
      await close();
    }
  });
});

/** The real application on a fresh in-memory PGlite, migrated or not. */
async function appOnMemoryDatabase(options: { migrated: boolean; logger?: Logger }) {
  const database = await openPgliteDatabase({ dataDir: 'memory://' });
  if (options.migrated) await migrate(database);
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const store = createResourceStore(database, indexResource);
  const core = createFhirCore({
    store,
    config,
    software: { name: 'Concordia', version: 'test', releaseDate: '2026-11-24' },
  });
  const logger = options.logger ?? createLogger(config);
  const app = await buildApp({ config, store, core, logger, metrics: createMetrics() });
  return {
    app,
    async close() {
      await app.close();
      await store.close();
    },
  };
}
