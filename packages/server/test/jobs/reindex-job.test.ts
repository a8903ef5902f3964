/**
 * The reindex job resumed after a crash: the next worker goes on after the last batch the dead
 * one checkpointed, counts every resource once, and only then makes the parameter searchable.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { Job } from '../../src/jobs/job.ts';
import { createJobWorker } from '../../src/jobs/job-worker.ts';
import { REINDEX_JOB, reindexJobHandler, reindexParams } from '../../src/jobs/reindex-job.ts';
import { searchParameterSource } from '../../src/store/search-parameter-rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { searchIds } from '../support/search-ids.ts';
import { createTestApp, FHIR_JSON, patient, type TestApp } from '../support/test-app.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const ctx = systemContext('test');

for (const database of testDatabases()) {
  describe(`the reindex job on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
      await t.worker.stop(); // this test plays the workers itself
    });
    afterAll(async () => {
      await t?.close();
    });

    it('resumes after a crash from the last batch it saved and then makes the parameter searchable', async () => {
      for (const given of ['Ada', 'Bo', 'Cy', 'Di', 'Ed']) {
        const resource: FhirResource = { ...patient({ family: 'Resume', given }), language: `x-${given}` };
        const created = await t.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: FHIR_JSON,
          payload: resource,
        });
        expect(created.statusCode).toBe(201);
      }
      const searchParameter = await t.app.inject({
        method: 'POST',
        url: '/fhir/SearchParameter',
        headers: FHIR_JSON,
        payload: {
          resourceType: 'SearchParameter',
          url: 'https://concordia.example/fhir/SearchParameter/patient-language',
          name: 'language',
          status: 'active',
          description: 'The language of the resource',
          code: 'resource-language',
          base: ['Patient'],
          type: 'token',
          expression: 'Patient.language',
        },
      });
      expect(searchParameter.statusCode).toBe(201);
      const job = await t.jobs.enqueue(REINDEX_JOB, reindexParams({ types: ['Patient'] }));
      const handler = reindexJobHandler({
        store: t.store,
        searchParameters: t.searchParameters,
        source: searchParameterSource(t.database),
        batchSize: 2,
        sleep: async () => undefined,
      });

      // Node A: claims it, saves its first checkpoints, and loses power during the next batch.
      const claimed = await t.jobs.claim('node-a', [REINDEX_JOB], 60);
      expect(claimed?.id).toBe(job.id);
      let checkpoints = 0;
      const crash = new Error('power cut');
      await expect(
        handler.run(claimed as Job, {
          async checkpoint(progress) {
            expect(await t.jobs.checkpoint(job.id, 'node-a', progress, 60)).toBe('ok');
            checkpoints++;
            if (checkpoints === 2) throw crash; // after the start and the first batch
          },
        }),
      ).rejects.toBe(crash);
      const saved = await t.jobs.get(job.id);
      expect(saved).toMatchObject({ status: 'running', progress: { done: 2, typeIndex: 0 } });
      expect(t.searchParameters.registry.get('Patient', 'resource-language')?.indexing).toBe(true);

      // Its lease runs out; node B resumes the job.
      await t.database.query(
        sql`update job set lease_expires_at = now() - interval '1 second' where id = ${job.id}::uuid`,
      );
      const nodeB = createJobWorker({
        store: t.jobs,
        handlers: [handler],
        pollIntervalMs: 60_000,
        leaseSeconds: 60,
        logger: quiet,
      });
      expect(await nodeB.runUntilIdle()).toBe(1);
      const finished = await t.jobs.get(job.id);
      const [patients] = await t.database.query(
        sql`select count(*) as count from resource where resource_type = 'Patient' and not deleted`,
      );
      expect(finished).toMatchObject({
        status: 'completed',
        attempts: 2,
        result: { resources: patients?.count, types: 1 },
        progress: { done: patients?.count, total: patients?.count },
      });
      expect(t.searchParameters.registry.get('Patient', 'resource-language')?.indexing).toBeUndefined();
      const registry = t.searchParameters.registry;
      expect(
        await searchIds(t.store, ctx, 'Patient', [['resource-language', 'x-Cy']], 10, registry),
      ).toHaveLength(1);
    });
  });
}
