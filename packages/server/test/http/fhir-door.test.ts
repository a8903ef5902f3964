/**
 * The HTTP edge of the FHIR door: a bug is still an OperationOutcome (http.html#Status-codes),
 * request ids reach the client, and the dates the door writes are RFC 7231 dates.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { httpDate } from '../../src/fhir/versioning.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, json, type TestApp } from '../support/test-app.ts';

describe('a failure inside the core', () => {
  it('answers 500 with an OperationOutcome that names the request id, not the stack', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const app = await buildApp({
      config,
      store: { readiness: async () => ({ ready: true, detail: 'test' }) },
      core: {
        handle: async () => {
          throw new TypeError('secret internals');
        },
      },
      logger: createLogger(config),
      metrics: createMetrics(),
    });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/fhir/Patient/1',
        headers: { 'x-request-id': 'req-42' },
      });
      expect(response.statusCode).toBe(500);
      const outcome = json(response.body);
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(at(outcome, 'issue', 0, 'code')).toBe('exception');
      expect(String(at(outcome, 'issue', 0, 'diagnostics'))).toContain('req-42');
      expect(response.body).not.toContain('secret internals');
    } finally {
      await app.close();
    }
  });
});

const [database] = testDatabases();
describe.runIf(database !== undefined)('request ids', () => {
  let t: TestApp;
  beforeAll(async () => {
    if (database !== undefined) t = await createTestApp(database);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('echoes the caller’s X-Request-Id and generates one otherwise', async () => {
    const given = await t.app.inject({
      method: 'GET',
      url: '/fhir/metadata',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const generated = await t.app.inject({ method: 'GET', url: '/fhir/metadata' });
    expect(generated.headers['x-request-id']).toEqual(expect.any(String));
    expect(generated.headers['x-request-id']).not.toBe('abc-123');
  });
});

describe('httpDate', () => {
  it('formats every instant as Date#toUTCString does (RFC 7231 IMF-fixdate)', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const instant = date.toISOString();
          expect(httpDate(instant)).toBe(date.toUTCString());
        },
      ),
    );
  });
});
