/**
 * The app with its ledger door, as `startServer` composes it, on a fresh database; the sequencer
 * is not started: tests call `ledger.integrate()` to sequence and sign when they choose. Beside it,
 * what the witness tests share: a witness the app trusts, and writes that grow the log.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, expect } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { SecretBox } from '../../src/identity/secret-box.ts';
import { createLedger, type Ledger } from '../../src/ledger/ledger.ts';
import type { WitnessHttp, WitnessOptions } from '../../src/ledger/witness.ts';
import { formatWitnessVerifierKey, generateWitnessKey } from '../../src/ledger/witness-key.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Database } from '../../src/store/database.ts';
import type { TestDatabase } from '../support/databases.ts';
import { FHIR_JSON, patient } from '../support/test-app.ts';

export interface LedgerTestApp {
  app: FastifyInstance;
  ledger: Ledger;
  database: Database;
  /** The identity key's box that seals the node key (a key rotation needs it). */
  box: SecretBox;
  /** Commits the audit rows of the requests answered so far (reads are answered once spooled). */
  settleAudit(): Promise<void>;
  /**
   * Stores a sign-in's AuditEvent: the one kind stored whole (`audit_event`), with a leaf of
   * its own; reads and writes go to the access log.
   */
  recordSignIn(): Promise<void>;
  close(): Promise<void>;
}

export async function createLedgerTestApp(
  testDatabase: TestDatabase,
  env: Record<string, string> = {},
): Promise<LedgerTestApp> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONCORDIA_BASE_URL: 'http://fhir.test',
    // FHIR access is not under test here: the open development principal (ADR 0004), unless a test asks.
    CONCORDIA_AUTH: 'insecure-demo',
    ...env,
  });
  const database = await testDatabase.create();
  const logger = createLogger(config);
  const { store, core, worker, audit } = await buildComponents(database, config, logger);
  const box = new SecretBox(randomBytes(32));
  const ledger = await createLedger({ db: database, config: config.ledger, box, logger });
  const app = await buildApp({ config, store, core, logger, metrics: createMetrics(), ledger });
  await app.ready();
  return {
    app,
    ledger,
    database,
    box,
    settleAudit: () => audit.sink.flush(),
    recordSignIn: () => audit.signIns.record({ step: 'password', succeeded: true }),
    async close() {
      await app.close();
      await worker.stop();
      await audit.close();
      await store.close();
    },
  };
}

/** The witness of the witness tests: the app that `WitnessTestRun.start` starts trusts it. */
export const testWitnessKey = generateWitnessKey('witness.hospital-b.example/w1');

/** A witness test's app and the witness's state directory, both fresh for each test. */
export interface WitnessTestRun {
  /** Starts the ledger test app with `testWitnessKey` among its witnesses; closed after the test. */
  start(): Promise<LedgerTestApp>;
  /** Where the witness keeps its state in the current test; removed after the test. */
  readonly stateDir: string;
  /** `testWitnessKey` watching the app's log under the key it signs with now. */
  options(test: LedgerTestApp): WitnessOptions;
}

/** Call inside a `describe`: registers the `beforeEach`/`afterEach` that make and remove a run. */
export function witnessTestRun(testDatabase: TestDatabase): WitnessTestRun {
  let test: LedgerTestApp | undefined;
  let stateDir = '';
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'concordia-witness-'));
  });
  afterEach(async () => {
    await test?.close();
    test = undefined;
    await rm(stateDir, { recursive: true, force: true });
  });
  return {
    async start() {
      test = await createLedgerTestApp(testDatabase, {
        CONCORDIA_LEDGER_WITNESSES: await formatWitnessVerifierKey(testWitnessKey),
      });
      return test;
    },
    get stateDir() {
      return stateDir;
    },
    options: (app) => ({
      logUrl: 'http://fhir.test',
      logKey: app.ledger.signer.verifierKey,
      key: testWitnessKey,
      stateDir,
      http: injectHttp(app),
    }),
  };
}

/** The witness's HTTP client, answered by the app through `inject`: no port. */
function injectHttp(test: LedgerTestApp): WitnessHttp {
  return async ({ method, url, body }) => {
    const answer = await test.app.inject({
      method,
      url: url.replace('http://fhir.test', ''),
      ...(body !== undefined ? { payload: body, headers: { 'content-type': 'text/plain' } } : {}),
    });
    return { status: answer.statusCode, body: answer.body };
  };
}

/** Creates `count` Patients through the FHIR door, then sequences and signs them into the log. */
export async function writePatients(test: LedgerTestApp, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const answer = await test.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: FHIR_JSON,
      payload: patient(),
    });
    expect(answer.statusCode, answer.body).toBe(201);
  }
  await test.ledger.integrate();
}
