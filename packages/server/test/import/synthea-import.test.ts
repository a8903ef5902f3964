/**
 * Real Synthea transaction Bundles (../shared/data/synthea) go in through `concordia import` as
 * real transactions: `urn:uuid:` references (the 2019 SMART set) and conditional references
 * (`Organization?identifier=…`, the 2021 Blaze set, which needs its hospital and practitioner
 * Bundles first) end up as `Type/id` references to stored resources.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSharedData } from '../../../fhir/test/support/shared-data.ts';
import { systemContext } from '../../src/access/request-context.ts';
import type { FhirCore } from '../../src/fhir/interaction.ts';
import { planImport } from '../../src/import/import-sources.ts';
import { runImport } from '../../src/import/importer.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { testDatabases } from '../support/databases.ts';
import { createTestCore, failureCollector } from '../support/test-core.ts';

const ctx = systemContext('test');
const SYNTHEA = requireSharedData('synthea');
const PATIENT_BUNDLES_PER_SET = 2;
// Real Bundles of hundreds of entries each: generous on a loaded 2-core CI machine.
const IMPORT_TIMEOUT_MS = 240_000;

/** The set's hospital and practitioner Bundles plus its first patient Bundles, in a temp-free plan. */
function sampleOf(set: string): string[] {
  const dir = join(SYNTHEA ?? '', set);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.json.gz'))
    .sort();
  const directory = files.filter((name) => /hospitalInformation|practitionerInformation/.test(name));
  const patients = files.filter((name) => !directory.includes(name)).slice(0, PATIENT_BUNDLES_PER_SET);
  return [...directory, ...patients].map((name) => join(dir, name));
}

function referencesIn(json: string): string[] {
  return [...json.matchAll(/"reference":"([^"]+)"/g)].map((match) => match[1] ?? '');
}

for (const database of testDatabases()) {
  // Each set gets its own database: the 2019 set creates one Organization per patient Bundle
  // (plain POSTs), so the 2021 set's conditional creates would rightly find several matches.
  for (const set of ['smart-r4-2019', 'blaze-r4-2021']) {
    describe.skipIf(SYNTHEA === null)(`Synthea ${set} import into ${database.name}`, () => {
      let store: ResourceStore;
      let core: FhirCore;
      beforeAll(async () => {
        ({ store, core } = await createTestCore(database));
      });
      afterAll(async () => {
        await store?.close();
      });

      it(
        'imports the transaction Bundles with every reference resolved to a stored resource',
        async () => {
          const observer = failureCollector();
          const summary = await runImport({
            core,
            plan: await planImport(sampleOf(set)),
            observer,
            concurrency: 1,
          });
          expect(observer.failures).toEqual([]);
          expect(summary.failures).toBe(0);
          expect(summary.resources).toBeGreaterThan(100);

          const observations = await store.history(ctx, { resourceType: 'Observation', count: 50 });
          expect(observations.versions.length).toBeGreaterThan(0);
          for (const version of observations.versions) {
            for (const reference of referencesIn(version.json ?? '')) {
              expect(reference).toMatch(/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]+$/);
              const [type = '', id = ''] = reference.split('/');
              expect(await store.read(ctx, type, id), `${reference} resolves`).toBeDefined();
            }
          }
        },
        IMPORT_TIMEOUT_MS,
      );

      it(
        'imports its hospital and practitioner Bundles a second time without failures',
        async () => {
          const observer = failureCollector();
          await runImport({
            core,
            plan: await planImport(sampleOf(set).slice(0, 2)),
            observer,
            concurrency: 1,
          });
          expect(observer.failures).toEqual([]);
        },
        IMPORT_TIMEOUT_MS,
      );
    });
  }
}
