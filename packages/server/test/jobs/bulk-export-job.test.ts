import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkExportJobHandler } from '../../src/jobs/bulk-export-job.ts';
import { type JobHandler, JobStopped } from '../../src/jobs/job.ts';
import { createJobWorker } from '../../src/jobs/job-worker.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { sql } from '../../src/store/sql.ts';
import { awaitManifest, download, exportDir, ids, kickOff, local } from '../fhir/bulk-export-client.ts';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, FHIR_JSON, json, observation, patient, type TestApp } from '../support/test-app.ts';

/**
 * Restart mid-export: a worker dies after it wrote a page but before it checkpointed it (its
 * lease is left to expire, as after a crash), and another worker resumes the job. The files must
 * hold every resource exactly once.
 */
describe.each(testDatabases())('a bulk export resumed after its worker died, on $name', (database) => {
  let t: TestApp;
  let dir: string;
  const expected = { Patient: [] as string[], Observation: [] as string[] };

  beforeAll(async () => {
    dir = await exportDir();
    t = await createTestApp(database, { CONCORDIA_EXPORT_DIR: dir });
    // The app's own worker must not take the job: this test runs the workers itself.
    await t.worker.stop();
    for (let index = 0; index < 4; index++) {
      const created = json(
        (
          await t.app.inject({
            method: 'POST',
            url: '/fhir/Patient',
            headers: FHIR_JSON,
            payload: patient({ family: `P${index}` }),
          })
        ).body,
      );
      expected.Patient.push(String(created.id));
      for (let n = 0; n < 3; n++) {
        const made = await t.app.inject({
          method: 'POST',
          url: '/fhir/Observation',
          headers: FHIR_JSON,
          payload: observation(`Patient/${created.id}`),
        });
        expected.Observation.push(String(json(made.body).id));
      }
    }
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const handler = (pageSize: number) =>
    bulkExportJobHandler({
      store: t.store,
      searchParameters: t.searchParameters.registry,
      exportDir: dir,
      pageSize,
      limits: { maxResources: 5, maxBytes: 1024 * 1024 },
      // A checkpoint after every page, so the crash points below fall between pages.
      checkpointIntervalMs: 0,
    });

  /** Dies (as a crashed node would: no release, the lease left to run out) at checkpoint `at`. */
  const dyingAt = (inner: JobHandler, at: number): JobHandler => ({
    kind: inner.kind,
    run(job, context) {
      let checkpoints = 0;
      return inner.run(job, {
        async checkpoint(progress) {
          checkpoints++;
          if (checkpoints === at) throw new JobStopped('lease-lost');
          await context.checkpoint(progress);
        },
      });
    },
  });

  const worker = (owner: string, handlers: JobHandler[]) =>
    createJobWorker({
      store: t.jobs,
      handlers,
      pollIntervalMs: 60_000,
      leaseSeconds: 60,
      owner,
      logger: createLogger(t.config),
    });

  // With `_type`, a pass per type; without, one pass over every type (bulk-export-job.ts, steps).
  const cases = [
    ...[2, 5, 7].map((at) => ({ at, url: '/fhir/$export?_type=Patient,Observation' })),
    { at: 4, url: '/fhir/$export' },
  ];
  for (const { at, url } of cases) {
    it(`writes every resource of ${url} exactly once when the first worker dies at checkpoint ${at}`, async () => {
      const started = await kickOff(t.app, url);
      expect(started.statusCode).toBe(202);
      const statusUrl = String(started.headers['content-location']);
      const jobId = new URL(statusUrl).searchParams.get('job') ?? '';

      expect(await worker('node-a', [dyingAt(handler(2), at)]).runUntilIdle()).toBe(1);
      const stalled = await t.jobs.get(jobId);
      expect(stalled?.status).toBe('running');
      // While it waits for another node, the status says how far it got.
      const polled = await t.app.inject({ method: 'GET', url: local(statusUrl) });
      expect(polled.statusCode).toBe(202);
      expect(polled.headers['x-progress']).toMatch(/^\d+% \((Patient|Observation)\)$/);

      await t.database.query(
        sql`update job set lease_expires_at = now() - interval '1 second' where id = ${jobId}::uuid`,
      );
      expect(await worker('node-b', [handler(3)]).runUntilIdle()).toBe(1);
      const resumed = await t.jobs.get(jobId);
      expect(resumed?.status).toBe('completed');
      expect(resumed?.attempts).toBe(2);

      const manifest = await awaitManifest(t.app, statusUrl);
      const { byType } = await download(t.app, manifest.output);
      expect(ids(byType.get('Patient'))).toEqual([...expected.Patient].sort());
      expect(ids(byType.get('Observation'))).toEqual([...expected.Observation].sort());
      expect(manifest.output.every((entry) => entry.count <= 5)).toBe(true);
    });
  }
});
