/**
 * The durable job runner (jobs/, migration 0005) on every database: claims with a lease, resumes a
 * job whose worker died from its last checkpoint, observes cancellation at the next checkpoint,
 * hands a job back on shutdown, and records failures.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Job,
  type JobContext,
  type JobHandler,
  JobStopped,
  type JsonObject,
} from '../../src/jobs/job.ts';
import { createJobStore, type JobStore } from '../../src/jobs/job-store.ts';
import { createJobWorker, type JobWorker } from '../../src/jobs/job-worker.ts';
import type { Database } from '../../src/store/database.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Counts from `progress.next` (0 on a fresh job) to `steps`, checkpointing after each step. */
function countingHandler(
  steps: number,
  onStep: (step: number, job: Job) => Promise<void> = async () => undefined,
): JobHandler & { seen: Job[] } {
  const seen: Job[] = [];
  return {
    kind: 'count',
    seen,
    async run(job: Job, context: JobContext): Promise<JsonObject> {
      seen.push(job);
      const start = typeof job.progress.next === 'number' ? job.progress.next : 0;
      for (let step = start; step < steps; step++) {
        await onStep(step, job);
        await context.checkpoint({ next: step + 1, done: step + 1, total: steps });
      }
      return { counted: steps - start, from: start };
    },
  };
}

function worker(store: JobStore, handler: JobHandler, owner: string): JobWorker {
  return createJobWorker({
    store,
    handlers: [handler],
    pollIntervalMs: 60_000,
    leaseSeconds: 60,
    logger: quiet,
    owner,
  });
}

for (const database of testDatabases()) {
  describe(`durable jobs on ${database.name}`, () => {
    let db: Database;
    let store: JobStore;
    beforeEach(async () => {
      db = await database.create();
      store = createJobStore(db);
    });
    afterEach(async () => {
      await db.close();
    });

    it('runs a queued job to completion, keeping its last progress and its result', async () => {
      const handler = countingHandler(3);
      const job = await store.enqueue('count', { purpose: 'test' });
      expect(job).toMatchObject({
        status: 'queued',
        kind: 'count',
        params: { purpose: 'test' },
        attempts: 0,
      });
      expect(await worker(store, handler, 'w1').runUntilIdle()).toBe(1);
      const done = await store.get(job.id);
      expect(done).toMatchObject({
        status: 'completed',
        progress: { next: 3, done: 3, total: 3 },
        result: { counted: 3, from: 0 },
        attempts: 1,
      });
      expect(done?.startedAt).toBeDefined();
      expect(done?.finishedAt).toBeDefined();
    });

    it('gives one job to one worker: a second claim skips the locked, leased job', async () => {
      const job = await store.enqueue('count', {});
      const first = await store.claim('a', ['count'], 60);
      expect(first?.id).toBe(job.id);
      expect(await store.claim('b', ['count'], 60)).toBeUndefined();
      expect(await store.claim('b', ['other-kind'], 60)).toBeUndefined();
    });

    it('resumes a job whose lease expired (its node crashed) from the last checkpoint', async () => {
      const job = await store.enqueue('count', {});
      // Node A claims it, gets through two steps, and dies without a word.
      await store.claim('node-a', ['count'], 60);
      expect(await store.checkpoint(job.id, 'node-a', { next: 2, done: 2, total: 5 }, 60)).toBe('ok');
      // While A's lease holds, nobody else takes the job.
      const handler = countingHandler(5);
      expect(await worker(store, handler, 'node-b').runUntilIdle()).toBe(0);
      // The lease runs out (A would have renewed it by now).
      await db.query(
        sql`update job set lease_expires_at = now() - interval '1 second' where id = ${job.id}::uuid`,
      );

      expect(await worker(store, handler, 'node-b').runUntilIdle()).toBe(1);
      expect(handler.seen[0]?.progress).toMatchObject({ next: 2 });
      expect(await store.get(job.id)).toMatchObject({
        status: 'completed',
        attempts: 2,
        result: { counted: 3, from: 2 },
      });
      // Node A coming back finds the job is no longer its own.
      expect(await store.checkpoint(job.id, 'node-a', { next: 3 }, 60)).toBe('lease-lost');
      expect(await store.complete(job.id, 'node-a', {})).toBe(false);
    });

    it('cancels a running job at its next checkpoint (DELETE)', async () => {
      let job: Job | undefined;
      const stepsRun: number[] = [];
      const handler = countingHandler(10, async (step) => {
        stepsRun.push(step);
        if (step === 2 && job !== undefined) {
          const cancelled = await store.cancel(job.id);
          expect(cancelled?.status).toBe('cancelled');
        }
      });
      job = await store.enqueue('count', {});
      await worker(store, handler, 'w1').runUntilIdle();
      expect(stepsRun).toEqual([0, 1, 2]);
      const after = await store.get(job.id);
      expect(after).toMatchObject({ status: 'cancelled', progress: { next: 2 } });
      expect(after?.result).toBeUndefined();
    });

    it('cancels a queued job before any worker runs it, and leaves a finished job as it was', async () => {
      const handler = countingHandler(1);
      const job = await store.enqueue('count', {});
      expect((await store.cancel(job.id))?.status).toBe('cancelled');
      expect(await worker(store, handler, 'w1').runUntilIdle()).toBe(0);
      expect(handler.seen).toEqual([]);

      const other = await store.enqueue('count', {});
      await worker(store, handler, 'w1').runUntilIdle();
      expect((await store.cancel(other.id))?.status).toBe('completed');
      expect(await store.cancel('00000000-0000-4000-8000-000000000000')).toBeUndefined();
      expect(await store.get('not-a-uuid')).toBeUndefined();
    });

    it('hands a running job back to the queue on shutdown, with its progress, for the next worker', async () => {
      let stopping: Promise<void> | undefined;
      const first = worker(
        store,
        countingHandler(5, async (step) => {
          if (step === 1) stopping = first.stop();
        }),
        'w1',
      );
      const job = await store.enqueue('count', {});
      await first.runUntilIdle().catch(() => undefined);
      await stopping;
      expect(await store.get(job.id)).toMatchObject({ status: 'queued', progress: { next: 2 } });

      const handler = countingHandler(5);
      expect(await worker(store, handler, 'w2').runUntilIdle()).toBe(1);
      expect(await store.get(job.id)).toMatchObject({ status: 'completed', result: { from: 2, counted: 3 } });
    });

    it('fails a job whose handler throws, with the error message', async () => {
      const job = await store.enqueue('broken', {});
      const broken: JobHandler = {
        kind: 'broken',
        run: async () => {
          throw new Error('the export directory is not writable');
        },
      };
      await worker(store, broken, 'w1').runUntilIdle();
      expect(await store.get(job.id)).toMatchObject({
        status: 'failed',
        error: 'the export directory is not writable',
      });
    });

    it('takes a failure after a cancel for the cancel (the export whose files DELETE removed)', async () => {
      const job = await store.enqueue('cancelled-under-it', {});
      const errors: unknown[] = [];
      const cancelledUnderIt: JobHandler = {
        kind: 'cancelled-under-it',
        run: async () => {
          await store.cancel(job.id);
          throw new Error("ENOENT: no such file or directory, open 'exports/…/Condition-1.ndjson'");
        },
      };
      await createJobWorker({
        store,
        handlers: [cancelledUnderIt],
        pollIntervalMs: 60_000,
        leaseSeconds: 60,
        logger: { ...quiet, error: (...args: unknown[]) => errors.push(args) },
        owner: 'w1',
      }).runUntilIdle();
      expect(await store.get(job.id)).toMatchObject({ status: 'cancelled' });
      expect(errors).toEqual([]);
    });

    it('wakes a started worker when a job is enqueued through its queue', async () => {
      const handler = countingHandler(1);
      const running = worker(store, handler, 'w1');
      running.start();
      try {
        const job = await running.queue.enqueue('count', {});
        const finished = await waitFor(
          () => store.get(job.id),
          (found) => found?.status === 'completed',
        );
        expect(finished?.result).toEqual({ counted: 1, from: 0 });
      } finally {
        await running.stop();
      }
    });

    it('lists jobs newest first and counts them by kind and status', async () => {
      const a = await store.enqueue('count', {});
      const b = await store.enqueue('other', {});
      await store.cancel(b.id);
      expect((await store.list()).map((job) => job.id)).toEqual([b.id, a.id]);
      expect((await store.list({ kind: 'count' })).map((job) => job.id)).toEqual([a.id]);
      expect((await store.list({ status: 'cancelled' })).map((job) => job.id)).toEqual([b.id]);
      expect(await store.counts()).toEqual(
        expect.arrayContaining([
          { kind: 'count', status: 'queued', count: 1 },
          { kind: 'other', status: 'cancelled', count: 1 },
        ]),
      );
    });

    it('throws JobStopped from a checkpoint once the job is no longer the worker’s', async () => {
      const job = await store.enqueue('count', {});
      let stopped: unknown;
      const handler: JobHandler = {
        kind: 'count',
        async run(claimed, context) {
          await db.query(sql`update job set lease_owner = 'someone-else' where id = ${claimed.id}::uuid`);
          try {
            await context.checkpoint({ next: 1 });
          } catch (error) {
            stopped = error;
            throw error;
          }
          return {};
        },
      };
      await worker(store, handler, 'w1').runUntilIdle();
      expect(stopped).toBeInstanceOf(JobStopped);
      expect((stopped as JobStopped).reason).toBe('lease-lost');
      expect((await store.get(job.id))?.status).toBe('running');
    });
  });
}

/** Polls `read` until `done` holds, at most 200 times; no timing is asserted. */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the condition did not hold after 200 polls');
}
