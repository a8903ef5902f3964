/**
 * The `job` table (migration 0005) behind `JobQueue`, plus what workers need: claim with
 * `for update skip locked` (two workers never take the same job, and neither waits for the
 * other), checkpoints that renew the lease, and the end states. Lease times come from the
 * database clock, so nodes with skewed clocks agree on when a lease expired.
 */
import { randomUUID } from 'node:crypto';
import { isRecord } from '@concordia/fhir';
import type { Database, Row } from '../store/database.ts';
import { readNumber, readOptionalString, readString } from '../store/rows.ts';
import { type Sql, sql } from '../store/sql.ts';
import {
  JOB_STATUSES,
  type Job,
  type JobListFilter,
  type JobProgress,
  type JobQueue,
  type JobStatus,
  type JsonObject,
} from './job.ts';

export type CheckpointOutcome = 'ok' | 'cancelled' | 'lease-lost';

export interface JobCount {
  kind: string;
  status: JobStatus;
  count: number;
}

export interface JobStore extends JobQueue {
  /**
   * Takes the oldest job of `kinds` that is queued, or running under an expired lease (its worker
   * died: the job is resumed), and leases it to `owner` for `leaseSeconds`.
   */
  claim(owner: string, kinds: readonly string[], leaseSeconds: number): Promise<Job | undefined>;
  /** Saves progress and renews the lease, if the job is still `owner`'s running job. */
  checkpoint(
    id: string,
    owner: string,
    progress: JobProgress,
    leaseSeconds: number,
  ): Promise<CheckpointOutcome>;
  /** Ends `owner`'s running job; false when it no longer is (cancelled meanwhile, lease lost). */
  complete(id: string, owner: string, result: JsonObject): Promise<boolean>;
  fail(id: string, owner: string, error: string): Promise<boolean>;
  /** Gives a running job back to the queue (graceful shutdown): the next worker resumes it at once. */
  release(id: string, owner: string): Promise<void>;
  counts(): Promise<JobCount[]>;
}

const COLUMNS = sql`id::text as id, kind, status, params, progress, result, error, attempts,
  created_at, started_at, updated_at, finished_at`;

export function createJobStore(db: Database): JobStore {
  const one = async (statement: Sql): Promise<Job | undefined> => {
    const [row] = await db.query(statement);
    return row === undefined ? undefined : jobFromRow(row);
  };
  const get = (id: string): Promise<Job | undefined> => {
    if (!isUuid(id)) return Promise.resolve(undefined);
    return one(sql`select ${COLUMNS} from job where id = ${id}::uuid`);
  };
  return {
    async enqueue(kind, params) {
      const job = await one(sql`insert into job (id, kind, status, params)
        values (${randomUUID()}::uuid, ${kind}, 'queued', ${JSON.stringify(params)}::jsonb)
        returning ${COLUMNS}`);
      if (job === undefined) throw new Error('inserting a job returned no row');
      return job;
    },
    get,
    async cancel(id) {
      if (!isUuid(id)) return undefined;
      const cancelled = await one(sql`update job set status = 'cancelled', finished_at = now(),
          updated_at = now(), lease_owner = null, lease_expires_at = null
        where id = ${id}::uuid and status in ('queued', 'running') returning ${COLUMNS}`);
      return cancelled ?? (await get(id));
    },
    async list(filter: JobListFilter = {}) {
      const rows = await db.query(sql`select ${COLUMNS} from job
        where (${filter.kind ?? null}::text is null or kind = ${filter.kind ?? null})
          and (${filter.status ?? null}::text is null or status = ${filter.status ?? null})
        order by created_at desc, id limit ${filter.limit ?? 100}`);
      return rows.map(jobFromRow);
    },
    claim(owner, kinds, leaseSeconds) {
      return one(sql`update job set status = 'running', lease_owner = ${owner},
          lease_expires_at = now() + make_interval(secs => ${leaseSeconds}),
          started_at = coalesce(started_at, now()), updated_at = now(), attempts = attempts + 1
        where id = (
          select id from job
          where kind = any(${kinds}::text[])
            and (status = 'queued' or (status = 'running' and lease_expires_at < now()))
          order by created_at, id
          limit 1
          for update skip locked)
        returning ${COLUMNS}`);
    },
    async checkpoint(id, owner, progress, leaseSeconds) {
      const [row] =
        await db.query(sql`with current as (select status, lease_owner from job where id = ${id}::uuid),
        renewed as (
          update job set progress = ${JSON.stringify(progress)}::jsonb, updated_at = now(),
            lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
          where id = ${id}::uuid and status = 'running' and lease_owner = ${owner}
          returning id)
        select (select count(*) from renewed) as renewed, (select status from current) as status`);
      if (row !== undefined && readNumber(row, 'renewed') === 1) return 'ok';
      return row?.status === 'cancelled' ? 'cancelled' : 'lease-lost';
    },
    async complete(id, owner, result) {
      const rows =
        await db.query(sql`update job set status = 'completed', result = ${JSON.stringify(result)}::jsonb,
          finished_at = now(), updated_at = now(), lease_owner = null, lease_expires_at = null
        where id = ${id}::uuid and status = 'running' and lease_owner = ${owner} returning id`);
      return rows.length === 1;
    },
    async fail(id, owner, error) {
      const rows = await db.query(sql`update job set status = 'failed', error = ${error},
          finished_at = now(), updated_at = now(), lease_owner = null, lease_expires_at = null
        where id = ${id}::uuid and status = 'running' and lease_owner = ${owner} returning id`);
      return rows.length === 1;
    },
    async release(id, owner) {
      await db.query(sql`update job set status = 'queued', updated_at = now(),
          lease_owner = null, lease_expires_at = null
        where id = ${id}::uuid and status = 'running' and lease_owner = ${owner}`);
    },
    async counts() {
      const rows = await db.query(sql`select kind, status, count(*) as count from job group by kind, status`);
      return rows.map((row) => ({
        kind: readString(row, 'kind'),
        status: readStatus(row),
        count: readNumber(row, 'count'),
      }));
    },
  };
}

function jobFromRow(row: Row): Job {
  const result = row.result;
  const error = readOptionalString(row, 'error');
  const startedAt = readOptionalString(row, 'started_at');
  const finishedAt = readOptionalString(row, 'finished_at');
  return {
    id: readString(row, 'id'),
    kind: readString(row, 'kind'),
    status: readStatus(row),
    params: readObject(row, 'params'),
    progress: readObject(row, 'progress'),
    ...(isRecord(result) ? { result: readObject(row, 'result') } : {}),
    ...(error !== undefined ? { error } : {}),
    attempts: readNumber(row, 'attempts'),
    createdAt: readString(row, 'created_at'),
    ...(startedAt !== undefined ? { startedAt } : {}),
    updatedAt: readString(row, 'updated_at'),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  };
}

function readStatus(row: Row): JobStatus {
  const status = readString(row, 'status');
  const known = JOB_STATUSES.find((candidate) => candidate === status);
  if (known === undefined) throw new TypeError(`Column status: unknown job status ${status}`);
  return known;
}

/** jsonb arrives parsed (both drivers); it was written by `JSON.stringify` of a `JsonObject`. */
function readObject(row: Row, column: string): JsonObject {
  const value = row[column];
  if (!isJsonObject(value)) throw new TypeError(`Column ${column}: expected a JSON object`);
  return value;
}

function isJsonObject(value: unknown): value is JsonObject {
  return isRecord(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id is simply not a job (no cast error from the database). */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
