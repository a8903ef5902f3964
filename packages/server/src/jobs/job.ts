/**
 * Durable background jobs: the port the FHIR core and the CLI use (`JobQueue`), and what a kind of
 * job implements (`JobHandler`). Jobs live in the database (migration 0005), so a job survives the
 * node that started it: a worker on any node claims it, and a job whose worker died is resumed
 * from its last checkpoint. Handlers must therefore be resumable: everything they need to go on is
 * in `params` and the `progress` they last saved.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

/** A finished job does not change any more. */
export function isFinished(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/**
 * What a handler reports at each checkpoint. `done`/`total` and `phase` are for people; `resume`
 * is the handler's own key to go on from (for reindex: the last resource it reached).
 */
export interface JobProgress extends JsonObject {}

export interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  params: JsonObject;
  progress: JobProgress;
  result?: JsonObject;
  error?: string;
  /** Times a worker claimed it; more than 1 means it was resumed after a crash or shutdown. */
  attempts: number;
  createdAt: string;
  startedAt?: string;
  updatedAt: string;
  finishedAt?: string;
}

export interface JobListFilter {
  kind?: string;
  status?: JobStatus;
  /** Newest first; default 100. */
  limit?: number;
}

/** The port: what callers outside the worker need. */
export interface JobQueue {
  /** Stores a new queued job and wakes a local worker. */
  enqueue(kind: string, params: JsonObject): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /**
   * Cancels a queued or running job: it is `cancelled` at once, and a running handler stops at its
   * next checkpoint. A finished job is returned unchanged; an unknown id gives undefined.
   */
  cancel(id: string): Promise<Job | undefined>;
  list(filter?: JobListFilter): Promise<Job[]>;
}

/** Thrown by `JobContext.checkpoint` when the job must stop: cancelled, lease lost, or shutting down. */
export class JobStopped extends Error {
  constructor(readonly reason: 'cancelled' | 'lease-lost' | 'shutdown') {
    super(`job stopped: ${reason}`);
    this.name = 'JobStopped';
  }
}

export interface JobContext {
  /**
   * Saves `progress` durably and renews the lease. Call it after each unit of work has committed:
   * a job resumed after a crash starts from the last progress saved.
   * @throws JobStopped when the job was cancelled, its lease went to another worker, or the worker is stopping.
   */
  checkpoint(progress: JobProgress): Promise<void>;
}

export interface JobHandler {
  kind: string;
  /**
   * Runs (or resumes, when `job.progress` holds a checkpoint) the job and returns its result.
   * Throwing fails the job with the error's message; throwing `JobStopped` leaves it to whoever
   * stopped it.
   */
  run(job: Job, context: JobContext): Promise<JsonObject>;
}
