/**
 * The FHIR core and its store on a fresh database, without HTTP: for tests of the importer,
 * the demo loader and other callers of `FhirCore.handle`.
 */
import { loadConfig } from '../../src/config.ts';
import type { FhirCore } from '../../src/fhir/interaction.ts';
import type { ImportFailure } from '../../src/import/apply-import-unit.ts';
import type { ImportObserver } from '../../src/import/importer.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import type { Database } from '../../src/store/database.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import type { TestDatabase } from './databases.ts';

export const TEST_SOFTWARE = { name: 'Concordia', version: 'test', releaseDate: '2026-11-24' };

export interface TestCore {
  store: ResourceStore;
  core: FhirCore;
  /** The database under the store, for tests that check rows beside the resources (audit, ledger). */
  database: Database;
}

/** The store and core as `concordia import` composes them (main.ts `buildComponents`). */
export async function createTestCore(database: TestDatabase): Promise<TestCore> {
  // FHIR behaviour, not access: the open development principal (ADR 0004).
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONCORDIA_BASE_URL: 'http://fhir.test',
    CONCORDIA_AUTH: 'insecure-demo',
  });
  const created = await database.create();
  const { store, core } = await buildComponents(created, config, createLogger(config));
  return { store, core, database: created };
}

/** An import observer that keeps the failures for assertions and ignores progress. */
export function failureCollector(): ImportObserver & { failures: ImportFailure[] } {
  const failures: ImportFailure[] = [];
  return {
    failures,
    started: () => undefined,
    imported: () => undefined,
    failed: (failure) => failures.push(failure),
    fileFinished: () => undefined,
    finished: () => undefined,
  };
}
