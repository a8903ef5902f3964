/**
 * Builds the real application (store, core, door) on a fresh database for one test file.
 * Typed builders keep fixtures short: `patient({ family: 'Shevchenko' })`.
 */
import type { FhirResource } from '@concordia/fhir';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { Audit } from '../../src/audit/audit.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { CustomSearchParameters } from '../../src/fhir/custom-search-parameters.ts';
import type { FhirCore } from '../../src/fhir/interaction.ts';
import type { JobStore } from '../../src/jobs/job-store.ts';
import type { JobWorker } from '../../src/jobs/job-worker.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Database } from '../../src/store/database.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import type { TestDatabase } from './databases.ts';

export interface TestApp {
  app: FastifyInstance;
  store: ResourceStore;
  /** The FHIR core the door serves (for running job handlers directly). */
  core: FhirCore;
  config: Config;
  /** The server's search parameters (R4 plus stored SearchParameters) and its job worker. */
  searchParameters: CustomSearchParameters;
  jobs: JobStore;
  worker: JobWorker;
  database: Database;
  /** The audit (audit/audit.ts): its sink's statistics show how events were batched. */
  audit: Audit;
  close(): Promise<void>;
}

/**
 * The app as `concordia serve` composes it (main.ts `buildComponents`), its job worker running.
 * SearchParameter changes settle after 50 ms instead of 5 s: one node, nothing to wait for.
 */
export async function createTestApp(
  database: TestDatabase,
  env: Record<string, string> = {},
): Promise<TestApp> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONCORDIA_BASE_URL: 'http://fhir.test',
    CONCORDIA_SEARCH_PARAMETER_REFRESH_MS: '50',
    // These tests exercise FHIR behaviour, not access: the open development principal (ADR 0004).
    CONCORDIA_AUTH: 'insecure-demo',
    ...env,
  });
  const db = await database.create();
  const logger = createLogger(config);
  const { store, core, searchParameters, jobs, worker, audit } = await buildComponents(db, config, logger);
  const app = await buildApp({ config, store, core, logger, metrics: createMetrics() });
  await app.ready();
  worker.start();
  return {
    app,
    store,
    core,
    config,
    searchParameters,
    jobs,
    worker,
    database: db,
    audit,
    async close() {
      await app.close();
      await worker.stop();
      await audit.close();
      await store.close();
    },
  };
}

export const FHIR_JSON = { 'content-type': 'application/fhir+json' };

export function patient(
  options: { family?: string; given?: string; identifier?: string; id?: string } = {},
): FhirResource {
  return {
    resourceType: 'Patient',
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.identifier !== undefined
      ? { identifier: [{ system: 'https://concordia.example/national-id', value: options.identifier }] }
      : {}),
    name: [{ family: options.family ?? 'Kovalenko', given: [options.given ?? 'Oksana'] }],
    gender: 'female',
    birthDate: '1984-03-02',
  };
}

export function observation(subject: string, code = '8867-4'): FhirResource {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: subject },
    valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

/** Parses a response body that must be a JSON object. */
export function json(body: string): Record<string, unknown> {
  const value: unknown = JSON.parse(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`not a JSON object: ${body}`);
  return Object.fromEntries(Object.entries(value));
}

/** Reads a nested property path for assertions: `at(body, 'meta', 'versionId')`. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = Reflect.get(current, key);
  }
  return current;
}
