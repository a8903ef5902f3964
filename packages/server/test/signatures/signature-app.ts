/**
 * The app as `concordia serve` composes it, configured with a throw-away PKI written to a
 * temporary directory (trust anchor and CRL files, as an operator configures them). `seed` runs on
 * the fresh database before the server starts: registrations the API would refuse today (of a
 * certificate that has expired since, or been revoked) go in there.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Database } from '../../src/store/database.ts';
import type { TestDatabase } from '../support/databases.ts';

export interface SignatureTestApp {
  app: FastifyInstance;
  database: Database;
  close(): Promise<void>;
}

export async function createSignatureTestApp(
  database: TestDatabase,
  pki: { anchorsPem: string; crlsPem: string },
  env: Record<string, string> = {},
  seed: (database: Database) => Promise<void> = async () => {},
): Promise<SignatureTestApp> {
  const dir = await mkdtemp(join(tmpdir(), 'concordia-signatures-'));
  await writeFile(join(dir, 'anchors.pem'), pki.anchorsPem);
  await writeFile(join(dir, 'crls.pem'), pki.crlsPem);
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONCORDIA_BASE_URL: 'http://fhir.test',
    CONCORDIA_DATA_DIR: dir,
    // Signatures, not access, are under test: the open development principal (ADR 0004).
    CONCORDIA_AUTH: 'insecure-demo',
    CONCORDIA_SIGNATURE_TRUST_ANCHORS: join(dir, 'anchors.pem'),
    CONCORDIA_SIGNATURE_CRLS: join(dir, 'crls.pem'),
    ...env,
  });
  const db = await database.create();
  await seed(db);
  const logger = createLogger(config);
  const components = await buildComponents(db, config, logger);
  const app = await buildApp({
    config,
    store: components.store,
    core: components.core,
    logger,
    metrics: createMetrics(),
  });
  await app.ready();
  return {
    app,
    database: db,
    async close() {
      await app.close();
      await components.audit.close();
      await components.store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
