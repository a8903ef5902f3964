/**
 * The in-process worker: claims one job at a time from the `job` table, runs its handler, and
 * records the end state. Every node runs one (main.ts); `for update skip locked` lets them share
 * the table without waiting on each other. Idle, it looks for work every `pollIntervalMs`, or at
 * once when this process enqueues a job.
 *
 * The lease: a claimed job is leased for `leaseSeconds` and the lease is renewed at every
 * checkpoint and on a timer (a third of the lease), so only a worker that stopped running — a
 * crashed or frozen node — loses it; then another worker claims the job and the handler resumes
 * from the last checkpoint. On graceful shutdown the running job is handed back to the queue at
 * its next checkpoint instead of waiting for the lease to expire.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { type Job, type JobHandler, type JobProgress, type JobQueue, JobStopped } from './job.ts';
import type { JobStore } from './job-store.ts';

export interface JobWorkerOptions {
  store: JobStore;
  handlers: readonly JobHandler[];
  pollIntervalMs: number;
  leaseSeconds: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Names this worker in `job.lease_owner`; default host/pid/random. */
  owner?: string;
}

export interface JobWorker {
  /** The queue to hand to callers: its `enqueue` also wakes this worker. */
  readonly queue: JobQueue;
  /** Starts the polling loop (idempotent). */
  start(): void;
  /** Looks for work now instead of at the next poll. */
  wake(): void;
  /** Claims and runs jobs until none is left to claim; returns how many it ran (CLI, tests). */
  runUntilIdle(): Promise<number>;
  /**
   * Stops the loop; a running handler stops at its next checkpoint and its job goes back to the
   * queue. Resolves when the worker is idle. Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

export function createJobWorker(options: JobWorkerOptions): JobWorker {
  const { store, logger, leaseSeconds } = options;
  const owner = options.owner ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const handlers = new Map(options.handlers.map((handler) => [handler.kind, handler]));
  const kinds = [...handlers.keys()];
  let stopping = false;
  let loop: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let busy: Promise<unknown> = Promise.resolve();

  async function runOne(): Promise<boolean> {
    if (stopping || kinds.length === 0) return false;
    const job = await store.claim(owner, kinds, leaseSeconds);
    if (job === undefined) return false;
    const handler = handlers.get(job.kind);
    if (handler === undefined) return false; // unreachable: only our kinds are claimed
    await execute(job, handler);
    return true;
  }

  async function execute(job: Job, handler: JobHandler): Promise<void> {
    if (job.attempts > 1)
      logger.info({ job: job.id, kind: job.kind, attempts: job.attempts }, 'resuming job');
    let progress: JobProgress = job.progress;
    let lost: JobStopped | undefined;
    const renew = setInterval(
      () => {
        store.checkpoint(job.id, owner, progress, leaseSeconds).then(
          (outcome) => {
            if (outcome !== 'ok') lost ??= new JobStopped(outcome);
          },
          (error: unknown) => logger.warn({ err: error, job: job.id }, 'renewing a job lease failed'),
        );
      },
      Math.max(1, (leaseSeconds * 1000) / 3),
    );
    renew.unref();
    try {
      const result = await handler.run(job, {
        async checkpoint(next) {
          if (lost !== undefined) throw lost;
          progress = next;
          const outcome = await store.checkpoint(job.id, owner, next, leaseSeconds);
          if (outcome !== 'ok') throw new JobStopped(outcome);
          if (stopping) throw new JobStopped('shutdown');
        },
      });
      if (await store.complete(job.id, owner, result)) {
        logger.info({ job: job.id, kind: job.kind }, 'job completed');
      }
    } catch (error) {
      const stopped = error instanceof JobStopped ? error : await stoppedMeanwhile(job, progress);
      if (stopped !== undefined) {
        if (stopped.reason === 'shutdown') await store.release(job.id, owner);
        logger.info({ job: job.id, kind: job.kind, reason: stopped.reason }, 'job stopped');
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      logger.error({ err: error, job: job.id, kind: job.kind }, 'job failed');
      await store.fail(job.id, owner, message);
    } finally {
      clearInterval(renew);
    }
  }

  /**
   * Whether a job whose handler failed had been stopped before it noticed: a cancelled export's
   * files are removed at once (DELETE), so its next write fails before its next checkpoint would
   * have told it. Such a failure is the cancel's doing, not the job's.
   */
  async function stoppedMeanwhile(job: Job, progress: JobProgress): Promise<JobStopped | undefined> {
    const outcome = await store.checkpoint(job.id, owner, progress, leaseSeconds).catch(() => 'ok' as const);
    return outcome === 'ok' ? undefined : new JobStopped(outcome);
  }

  /** One claim-and-run at a time per worker, whoever asks (loop, runUntilIdle). */
  function serially<T>(work: () => Promise<T>): Promise<T> {
    const next = busy.then(work, work);
    busy = next.catch(() => undefined);
    return next;
  }

  async function pollLoop(): Promise<void> {
    while (!stopping) {
      try {
        while (await serially(runOne)) {
          // keep going while there is work
        }
      } catch (error) {
        logger.error({ err: error }, 'the job worker could not claim or record a job');
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollIntervalMs);
        timer.unref();
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  }

  const wake = (): void => wakeUp?.();

  return {
    queue: {
      async enqueue(kind, params) {
        const job = await store.enqueue(kind, params);
        wake();
        return job;
      },
      get: (id) => store.get(id),
      cancel: (id) => store.cancel(id),
      list: (filter) => store.list(filter),
    },
    start() {
      if (stopping) return;
      loop ??= pollLoop();
    },
    wake,
    async runUntilIdle() {
      let ran = 0;
      while (await serially(runOne)) ran++;
      return ran;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        wake();
        await loop;
        await busy;
      })();
      return stopped;
    },
  };
}
