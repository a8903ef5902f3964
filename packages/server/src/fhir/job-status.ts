/**
 * The status of a background job started by an asynchronous request (`$reindex` today, bulk
 * `$export` next; http://hl7.org/fhir/R4/async.html): `GET [base]/$job?id=…` answers 202 while the
 * job is queued or running and 200 once it has ended, with a Parameters resource (status,
 * progress, result or error); `DELETE [base]/$job?id=…` cancels it — a running job stops at its
 * next checkpoint — and answers 202 (200 when it had already ended).
 *
 * A job that records its owner (a bulk export) is the owner's: anyone else, short of an
 * administrator, gets the 404 of an unknown job, so that its existence is not revealed either.
 */
import { type FhirResource, fhirError } from '@concordia/fhir';
import { isFinished, type Job, type JobQueue, type JsonValue } from '../jobs/job.ts';
import { mayManageJob, recordedJobOwner } from '../jobs/job-owner.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { type FhirOperation, operationParameters, singleParameter } from './operations.ts';

export const JOB_STATUS_DEFINITION = 'https://concordia.example/fhir/OperationDefinition/job';

/** Where a job's status is read (the `Content-Location` of a 202). */
export function jobStatusUrl(fhirBase: string, id: string): string {
  return `${fhirBase}/$job?id=${encodeURIComponent(id)}`;
}

export function jobStatusOperation(jobs: JobQueue): FhirOperation {
  return {
    name: 'job',
    definition: JOB_STATUS_DEFINITION,
    system: true,
    methods: ['GET', 'DELETE'],
    handler: async (request, env) => {
      const id = jobId(request);
      const notFound = () => fhirError('not-found', 'not-found', `No job ${id}`, ['id']);
      const job = await jobs.get(id);
      if (job === undefined || !mayManage(job, env)) throw notFound();
      if (request.method !== 'DELETE') return jobResponse(job);
      const cancelled = await jobs.cancel(id);
      if (cancelled === undefined) throw notFound();
      return jobResponse(cancelled);
    },
  };
}

function mayManage(job: Job, env: InteractionEnv): boolean {
  const owner = recordedJobOwner(job.params);
  return owner === undefined || mayManageJob(env.ctx.principal, owner);
}

function jobId(request: RoutedRequest): string {
  const id = singleParameter(operationParameters(request.query, undefined), 'id');
  if (id === undefined) throw fhirError('invalid', 'required', '$job needs the parameter id', ['id']);
  return id;
}

function jobResponse(job: Job): FhirResponse {
  return {
    status: isFinished(job.status) ? 200 : 202,
    interaction: 'operation',
    body: { kind: 'resource', resource: jobParameters(job) },
  };
}

/** The job as a Parameters resource: what a client polls. */
export function jobParameters(job: Job): FhirResource {
  const { done, total, phase } = job.progress;
  const progress: Record<string, unknown>[] = [];
  if (typeof done === 'number') progress.push({ name: 'done', valueInteger: done });
  if (typeof total === 'number') progress.push({ name: 'total', valueInteger: total });
  const percentage = percentageOf(job);
  if (percentage !== undefined) progress.push({ name: 'percentage', valueDecimal: percentage });
  if (typeof phase === 'string') progress.push({ name: 'phase', valueString: phase });
  const instant = (name: string, value: string | undefined) =>
    value === undefined ? [] : [{ name, valueInstant: value }];
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'id', valueString: job.id },
      { name: 'kind', valueCode: job.kind },
      { name: 'status', valueCode: job.status },
      ...(progress.length > 0 ? [{ name: 'progress', part: progress }] : []),
      ...instant('created', job.createdAt),
      ...instant('started', job.startedAt),
      ...instant('updated', job.updatedAt),
      ...instant('finished', job.finishedAt),
      { name: 'attempts', valueInteger: job.attempts },
      ...(job.result !== undefined ? [{ name: 'result', part: parts(job.result) }] : []),
      ...(job.error !== undefined ? [{ name: 'error', valueString: job.error }] : []),
    ],
  };
}

/** 100 once completed; else done/total with one decimal, when the handler reported both. */
function percentageOf(job: Job): number | undefined {
  if (job.status === 'completed') return 100;
  const { done, total } = job.progress;
  if (typeof done !== 'number' || typeof total !== 'number') return undefined;
  if (total === 0) return 0;
  return Math.min(100, Math.round((done / total) * 1000) / 10);
}

/** A JSON object as Parameters parts: numbers, strings and booleans as values, objects as nested parts. */
function parts(object: Record<string, JsonValue>): Record<string, unknown>[] {
  return Object.entries(object).flatMap(([name, value]) => part(name, value));
}

function part(name: string, value: JsonValue): Record<string, unknown>[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value.flatMap((item) => part(name, item));
  if (typeof value === 'number') {
    return [Number.isInteger(value) ? { name, valueInteger: value } : { name, valueDecimal: value }];
  }
  if (typeof value === 'boolean') return [{ name, valueBoolean: value }];
  if (typeof value === 'string') return [{ name, valueString: value }];
  return [{ name, part: parts(value) }];
}
