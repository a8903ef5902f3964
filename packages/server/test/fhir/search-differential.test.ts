/**
 * Differential test of search (http://hl7.org/fhir/R4/search.html): real Synthea data go in
 * through transaction Bundles, then generated queries — values that occur in the data and values
 * that do not, every prefix and modifier the server supports — run through the REST search and
 * through an independent in-memory evaluator (test/support/reference-search), and must find
 * exactly the same resources. A mismatch prints the query, the ids only one side found, and
 * what the queried parameters select from those resources.
 */
import { join } from 'node:path';
import type { IdentifiedResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSharedData } from '../../../fhir/test/support/shared-data.ts';
import { systemContext } from '../../src/access/request-context.ts';
import { testDatabases } from '../support/databases.ts';
import { ReferenceDataset } from '../support/reference-search/dataset.ts';
import { ReferenceSearch } from '../support/reference-search/evaluate.ts';
import { SeededRandom } from '../support/reference-search/seeded-random.ts';
import { createTestApp, FHIR_JSON, json, type TestApp } from '../support/test-app.ts';
import { supplementBundle, syntheaBundles } from './differential/data.ts';
import { generateQueries, QUERY_CATEGORIES } from './differential/queries.ts';
import { compare } from './differential/run-query.ts';
import { ValuePool } from './differential/value-pool.ts';

const SYNTHEA = requireSharedData('synthea');
/** 15 patient Bundles of the 2019 set hold 3,950 resources; the supplement adds 188. */
const PATIENT_BUNDLES = 15;
const QUERIES_PER_CATEGORY = 250;
const SEED = 20_261_124;
const MIN_MATCHING_SHARE = 0.3;
const LOAD_TIMEOUT_MS = 180_000;

for (const database of testDatabases()) {
  describe.skipIf(SYNTHEA === null)(`search agrees with the reference evaluator on ${database.name}`, () => {
    let t: TestApp;
    let reference: ReferenceSearch;
    let pool: ValuePool;

    beforeAll(async () => {
      t = await createTestApp(database);
      const bundles = [
        ...syntheaBundles(join(SYNTHEA ?? '', 'smart-r4-2019'), PATIENT_BUNDLES),
        supplementBundle(new SeededRandom(SEED)),
      ];
      for (const bundle of bundles) {
        const response = await t.app.inject({
          method: 'POST',
          url: '/fhir',
          headers: FHIR_JSON,
          payload: json(JSON.stringify(bundle)),
        });
        expect(response.statusCode, response.body.slice(0, 600)).toBe(200);
      }
      reference = new ReferenceSearch(new ReferenceDataset(await storedResources(t)));
      pool = new ValuePool(reference);
    }, LOAD_TIMEOUT_MS);

    afterAll(async () => {
      await t?.close();
    });

    it('loads a few thousand resources', () => {
      expect(reference.dataset.size).toBeGreaterThan(4_000);
    });

    QUERY_CATEGORIES.forEach((category, index) => {
      it(`finds the same ${category} matches`, async () => {
        const random = new SeededRandom(SEED + 1 + index);
        const queries = generateQueries(pool, random, category, QUERIES_PER_CATEGORY);
        expect(queries.length).toBeGreaterThan(QUERIES_PER_CATEGORY / 2);
        const reports: string[] = [];
        let matching = 0;
        for (const query of queries) {
          const { expected, mismatch } = await compare(t, reference, query);
          if (expected > 0) matching++;
          if (mismatch !== undefined) reports.push(mismatch.report);
        }
        expect(reports.join('\n\n'), `${reports.length} of ${queries.length} queries differ`).toBe('');
        // Neither all-empty nor all-matching: the queries probe both sides of each boundary.
        expect(matching, 'queries that match something').toBeGreaterThan(queries.length * MIN_MATCHING_SHARE);
        expect(matching, 'queries that match something').toBeLessThan(queries.length);
      });
    });
  });
}

/** Every current resource, in the order it was written (history is newest first). */
async function storedResources(t: TestApp): Promise<IdentifiedResource[]> {
  const ctx = systemContext('differential-test');
  const resources: IdentifiedResource[] = [];
  let cursor: string | undefined;
  do {
    const page = await t.store.history(ctx, { count: 1000, ...(cursor !== undefined ? { cursor } : {}) });
    for (const version of page.versions) {
      if (version.json === undefined) continue;
      const resource: unknown = JSON.parse(version.json);
      if (isIdentified(resource)) resources.push(resource);
    }
    cursor = page.next;
  } while (cursor !== undefined);
  return resources.reverse();
}

function isIdentified(value: unknown): value is IdentifiedResource {
  return (
    typeof value === 'object' &&
    value !== null &&
    'resourceType' in value &&
    'id' in value &&
    typeof value.id === 'string'
  );
}
