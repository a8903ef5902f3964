/**
 * The app with its ledger door, as `startServer` composes it, on a fresh database; the sequencer
 * is not started: tests call `ledger.integrate()` to sequence and sign when they choose.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { SecretBox } from '../../src/identity/secret-box.ts';
import { createLedger, type Ledger } from '../../src/ledger/ledger.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Database } from '../../src/store/database.ts';
import type { TestDatabase } from '../support/databases.ts';

export interface LedgerTestApp {
  app: FastifyInstance;
  ledger: Ledger;
  database: Database;
  /** The identity key's box that seals the node key (a key rotation needs it). */
  box: SecretBox;
  /** Commits the audit rows of the requests answered so far (reads are answered once spooled). */
  settleAudit(): Promise<void>;
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
    CONCORDIA_AUTH: 'open',
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
    async close() {
      await app.close();
      await worker.stop();
      await audit.close();
      await store.close();
    },
  };
}
