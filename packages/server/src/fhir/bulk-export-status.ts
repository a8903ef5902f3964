/**
 * The status and the files of a bulk export (https://hl7.org/fhir/uv/bulkdata/export.html,
 * "Bulk Data Status Request" and "File Request"). The status is not the generic `$job`
 * Parameters (job-status.ts): the specification fixes its shape —
 *
 * - `GET [base]/$export-status?job=…`: 202 with `X-Progress` and `Retry-After` while the export
 *   runs; 200 with the manifest (`transactionTime`, `request`, `requiresAccessToken`, `output`,
 *   `error`, and with `_since` `deleted`) and `Expires` once it is complete; 500 with an OperationOutcome if it failed; 404
 *   once it was cancelled or deleted, or its files expired.
 * - `DELETE` the same URL: cancels a running export or deletes a finished one's files; 202.
 * - `GET [base]/$export-file?job=…&file=…`: one NDJSON file, streamed from disk.
 *
 * Only the client that started an export (or an administrator) may do any of this; a file also
 * needs the token's read scope on its resource type.
 */
import { open } from 'node:fs/promises';
import { fhirError, informationOutcome, isRecord } from '@concordia/fhir';
import { decideScopes } from '../access/scope-decision.ts';
import { BULK_EXPORT_JOB, exportParamsOf } from '../jobs/bulk-export-params.ts';
import { exportExists, exportFilePath, removeExport } from '../jobs/export-files.ts';
import { exportExpires, exportIsLive } from '../jobs/export-retention.ts';
import type { Job, JobQueue } from '../jobs/job.ts';
import { mayManageJob } from '../jobs/job-owner.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { type FhirOperation, operationParameters, singleParameter } from './operations.ts';

export const EXPORT_STATUS_DEFINITION = 'https://concordia.example/fhir/OperationDefinition/export-status';
export const EXPORT_FILE_DEFINITION = 'https://concordia.example/fhir/OperationDefinition/export-file';

/** Seconds a client is asked to wait between polls of a running export. */
const RETRY_AFTER_SECONDS = 2;

export interface ExportStatusDeps {
  jobs: JobQueue;
  exportDir: string;
  retentionHours: number;
}

/** The status URL of an export (the `Content-Location` of its kick-off). */
export function exportStatusUrl(fhirBase: string, jobId: string): string {
  return `${fhirBase}/$export-status?job=${encodeURIComponent(jobId)}`;
}

export function exportFileUrl(fhirBase: string, jobId: string, name: string): string {
  return `${fhirBase}/$export-file?job=${encodeURIComponent(jobId)}&file=${encodeURIComponent(name)}`;
}

export function bulkExportStatusOperations(deps: ExportStatusDeps): FhirOperation[] {
  return [
    {
      name: 'export-status',
      definition: EXPORT_STATUS_DEFINITION,
      system: true,
      methods: ['GET', 'DELETE'],
      checksAccessItself: true,
      handler: (request, env) =>
        request.method === 'DELETE' ? deleteExport(request, env, deps) : exportStatus(request, env, deps),
    },
    {
      name: 'export-file',
      definition: EXPORT_FILE_DEFINITION,
      system: true,
      methods: ['GET'],
      checksAccessItself: true,
      handler: (request, env) => exportFile(request, env, deps),
    },
  ];
}

async function exportStatus(
  request: RoutedRequest,
  env: InteractionEnv,
  deps: ExportStatusDeps,
): Promise<FhirResponse> {
  const job = await ownedExport(request, env, deps);
  if (job.status === 'queued' || job.status === 'running') {
    return {
      status: 202,
      interaction: 'operation',
      headers: { progress: progressText(job), retryAfter: RETRY_AFTER_SECONDS },
    };
  }
  await requireFiles(job, deps);
  if (job.status === 'failed') {
    throw fhirError('internal', 'exception', `The export failed: ${job.error ?? 'no reason recorded'}`);
  }
  const expires = exportExpires(job, deps.retentionHours);
  return {
    status: 200,
    interaction: 'operation',
    headers: expires === undefined ? {} : { expires: expires.toUTCString() },
    body: {
      kind: 'json',
      json: JSON.stringify(manifest(job, env.fhirBase)),
      contentType: 'application/json',
    },
  };
}

async function deleteExport(
  request: RoutedRequest,
  env: InteractionEnv,
  deps: ExportStatusDeps,
): Promise<FhirResponse> {
  const job = await ownedExport(request, env, deps);
  if (job.status === 'queued' || job.status === 'running') {
    // A running job stops at its next checkpoint and removes what it wrote after this.
    await deps.jobs.cancel(job.id);
  } else {
    await requireFiles(job, deps);
  }
  await removeExport(deps.exportDir, job.id);
  return {
    status: 202,
    interaction: 'operation',
    body: { kind: 'resource', resource: informationOutcome(`Bulk export ${job.id} deleted`) },
  };
}

async function exportFile(
  request: RoutedRequest,
  env: InteractionEnv,
  deps: ExportStatusDeps,
): Promise<FhirResponse> {
  const job = await ownedExport(request, env, deps);
  const name = singleParameter(operationParameters(request.query, undefined), 'file') ?? '';
  if (job.status !== 'completed')
    throw fhirError('not-found', 'not-found', `Bulk export ${job.id} has no files yet`);
  await requireFiles(job, deps);
  const file = listedFiles(job).find((listed) => listed.name === name);
  const path = exportFilePath(deps.exportDir, job.id, name);
  if (file === undefined || path === undefined) {
    throw fhirError('not-found', 'not-found', `Bulk export ${job.id} has no file '${name}'`, ['file']);
  }
  const { principal } = env.ctx;
  if (file.kind === 'output' && (principal.kind === 'user' || principal.kind === 'client')) {
    const decision = decideScopes(principal, { permission: 'r', resourceType: file.type });
    if (!decision.allowed) throw fhirError('forbidden', 'forbidden', decision.reason);
  }
  // Opened here, not by the door: a file removed meanwhile is a 404, not a broken response.
  const handle = await open(path).catch(() => {
    throw fhirError('not-found', 'not-found', `Bulk export ${job.id} has no file '${name}' any more`);
  });
  return {
    status: 200,
    interaction: 'operation',
    stream: { contentType: 'application/fhir+ndjson', stream: handle.createReadStream() },
  };
}

/** The export named by `job=…`; 404 if there is none, 403 if it is someone else's. */
async function ownedExport(
  request: RoutedRequest,
  env: InteractionEnv,
  deps: ExportStatusDeps,
): Promise<Job> {
  const id = singleParameter(operationParameters(request.query, undefined), 'job');
  if (id === undefined) throw fhirError('invalid', 'required', 'The parameter job is required', ['job']);
  const job = await deps.jobs.get(id);
  if (job === undefined || job.kind !== BULK_EXPORT_JOB || job.status === 'cancelled') {
    throw fhirError('not-found', 'not-found', `No bulk export ${id}`);
  }
  if (!mayManageJob(env.ctx.principal, exportParamsOf(job.params).owner)) {
    throw fhirError('forbidden', 'forbidden', `Bulk export ${id} belongs to another client`);
  }
  return job;
}

/** A finished export whose files were deleted (by the client, or at expiry) is gone: 404. */
async function requireFiles(job: Job, deps: ExportStatusDeps): Promise<void> {
  if (!exportIsLive(job, deps.retentionHours)) {
    await removeExport(deps.exportDir, job.id);
    throw fhirError('not-found', 'not-found', `Bulk export ${job.id} has expired`);
  }
  if (!(await exportExists(deps.exportDir, job.id))) {
    throw fhirError('not-found', 'not-found', `Bulk export ${job.id} was deleted`);
  }
}

/** `42% (Observation)`: at most 100 characters (export.html#response---in-progress-status). */
function progressText(job: Job): string {
  if (job.status === 'queued') return 'queued';
  const { done, total, type } = job.progress;
  const share =
    typeof done === 'number' && typeof total === 'number' && total > 0
      ? Math.min(99, Math.floor((done / total) * 100))
      : 0;
  return typeof type === 'string' ? `${share}% (${type})` : `${share}%`;
}

interface ListedFile {
  kind: 'output' | 'error' | 'deleted';
  type: string;
  name: string;
  count: number;
}

function listedFiles(job: Job): ListedFile[] {
  const result = job.result ?? {};
  const read = (kind: ListedFile['kind']): ListedFile[] => {
    const list = result[kind];
    if (!Array.isArray(list)) return [];
    return list.flatMap((entry) => {
      if (!isRecord(entry)) return [];
      const { type, name, count } = entry;
      if (typeof type !== 'string' || typeof name !== 'string' || typeof count !== 'number') return [];
      return [{ kind, type, name, count }];
    });
  };
  return [...read('output'), ...read('error'), ...read('deleted')];
}

/** export.html#response---complete-status. */
function manifest(job: Job, fhirBase: string): Record<string, unknown> {
  const params = exportParamsOf(job.params);
  const entry = (file: ListedFile) => ({
    type: file.type,
    url: exportFileUrl(fhirBase, job.id, file.name),
    count: file.count,
  });
  const files = listedFiles(job);
  return {
    transactionTime: job.result?.transactionTime ?? job.createdAt,
    request: params.request,
    // Open development mode serves its own exports without a token; a client's need its token.
    requiresAccessToken: params.owner.kind !== 'open-development',
    output: files.filter((file) => file.kind === 'output').map(entry),
    error: files.filter((file) => file.kind === 'error').map(entry),
    // With `_since`: transaction Bundles of the resources deleted since, one per line.
    ...(params.since !== undefined
      ? { deleted: files.filter((file) => file.kind === 'deleted').map(entry) }
      : {}),
  };
}
