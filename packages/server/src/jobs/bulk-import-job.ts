/**
 * The bulk import job (`$import`, fhir/bulk-import.ts): loads its files through the FHIR core with
 * the importer's own path (import-requests.ts → import-batches.ts: resources in transactions of
 * `batchSize`), so validation, history, search index and compartments are those of any write.
 *
 * Resumable: after every batch of `batchSize` items it writes what is queued and checkpoints the
 * file it is in and how many of that file's items (NDJSON lines, or the one Bundle of a `.json`
 * file) it has done. A job
 * resumed after a crash or shutdown skips those and redoes the batch that was in flight, which
 * duplicates nothing: resources with ids are PUT and an unchanged one gets no new version
 * (fhir/unchanged-content.ts), and a resource without an id gets an id derived from the job, the
 * file and the line, so the redo finds it too. Only a transaction or batch Bundle whose POST
 * entries committed in the instant between its commit and the checkpoint would be applied twice.
 *
 * A failing resource is recorded (file, line or entry, the core's diagnostics) and the load goes
 * on; the first `MAX_REPORTED_FAILURES` are kept for the result, all are counted. Uploaded files
 * are deleted when the job ends, whether it completed, failed or was cancelled.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { systemContext } from '../access/request-context.ts';
import type { FhirCore } from '../fhir/interaction.ts';
import type { ImportFailure } from '../import/apply-import-unit.ts';
import { ImportBatcher } from '../import/import-batches.ts';
import { readImportFile } from '../import/import-file-reader.ts';
import { type ImportUnit, importUnits } from '../import/import-requests.ts';
import type { ImportUploads } from '../import/import-uploads.ts';
import type { Job, JobContext, JobHandler, JsonObject, JsonValue } from './job.ts';
import { JobStopped } from './job.ts';

export const BULK_IMPORT_JOB = 'bulk-import';

/** Items (NDJSON lines) per checkpoint, and resources per transaction. */
export const BULK_IMPORT_BATCH_SIZE = 500;

export const MAX_REPORTED_FAILURES = 1000;

export interface BulkImportSource {
  /** The file on the server. */
  path: string;
  /** How the job names it in progress and failures: the upload's media type, or the path. */
  label: string;
  /** An uploaded body: the job deletes it when it ends. */
  upload: boolean;
}

export function bulkImportParams(sources: readonly BulkImportSource[]): JsonObject {
  return { sources: sources.map((source) => ({ ...source })) };
}

interface ImportProgress {
  fileIndex: number;
  /** Items of `sources[fileIndex]` already loaded. */
  items: number;
  done: number;
  failed: number;
  failures: ImportFailure[];
}

export interface BulkImportJobDeps {
  /** The core; a function because the core is built after the worker that runs this job (main.ts). */
  core: () => FhirCore;
  uploads: ImportUploads;
  /** Whether the server lets clients choose ids (`updateCreate`): then id-less resources get stable ids. */
  updateCreate: boolean;
  batchSize?: number;
}

export function bulkImportJobHandler(deps: BulkImportJobDeps): JobHandler {
  const batchSize = deps.batchSize ?? BULK_IMPORT_BATCH_SIZE;
  const ctx = systemContext('bulk-import');
  return {
    kind: BULK_IMPORT_JOB,
    async run(job: Job, context: JobContext): Promise<JsonObject> {
      const sources = sourcesOf(job.params.sources);
      const progress = progressOf(job);
      try {
        while (progress.fileIndex < sources.length) {
          const source = sources[progress.fileIndex];
          if (source === undefined) break;
          await importSource(source, progress, job, async () => {
            await context.checkpoint(saved(progress, sources.length));
          });
          progress.fileIndex += 1;
          progress.items = 0;
          await context.checkpoint(saved(progress, sources.length));
        }
      } catch (error) {
        if (!(error instanceof JobStopped) || error.reason === 'cancelled') await removeUploads(sources);
        throw error;
      }
      await removeUploads(sources);
      return {
        files: sources.length,
        resources: progress.done,
        failures: progress.failed,
        ...(progress.failures.length > 0 ? { failure: progress.failures.map(failureJson) } : {}),
      };
    },
  };

  async function importSource(
    source: BulkImportSource,
    progress: ImportProgress,
    job: Job,
    checkpoint: () => Promise<void>,
  ): Promise<void> {
    const record = (failure: ImportFailure): void => {
      progress.failed += 1;
      if (progress.failures.length < MAX_REPORTED_FAILURES) {
        const { line, entry } = failure.location;
        progress.failures.push({
          location: {
            file: source.label,
            ...(line !== undefined ? { line } : {}),
            ...(entry !== undefined ? { entry } : {}),
          },
          diagnostics: failure.diagnostics,
        });
      }
    };
    const batcher = new ImportBatcher({
      core: deps.core(),
      ctx,
      batchSize,
      report: (result) => {
        progress.done += result.imported;
        for (const failure of result.failures) record(failure);
      },
    });
    let position = 0;
    try {
      for await (const item of readImportFile(source.path)) {
        position += 1;
        if (position <= progress.items) continue;
        if (item.kind === 'unreadable') record({ location: item.location, diagnostics: item.reason });
        else {
          const units = importUnits(item.value, item.location);
          for (const [index, unit] of units.entries()) {
            await batcher.add(stableIds(unit, `${job.id}/${progress.fileIndex}/${position}/${index}`));
          }
        }
        if (position % batchSize === 0) {
          // A checkpoint counts only what is committed.
          await batcher.flush();
          progress.items = position;
          try {
            await checkpoint();
          } catch (error) {
            throw new CheckpointFailed(error);
          }
        }
      }
    } catch (error) {
      if (error instanceof CheckpointFailed) throw error.cause;
      // The file itself broke (missing, truncated gzip): report it and go on with the next one.
      record({
        location: { file: source.label },
        diagnostics: `cannot read the file: ${errorMessage(error)}`,
      });
    }
    // What was read before the end (or the break) of the file is loaded.
    await batcher.flush();
    progress.items = position;
  }

  /** An id-less resource is PUT with an id derived from where it came from, so a redo finds it. */
  function stableIds(unit: ImportUnit, origin: string): ImportUnit {
    if (!deps.updateCreate || unit.kind !== 'resource' || unit.request.method !== 'POST') return unit;
    const body = unit.request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return unit;
    const id = uuidFrom(origin);
    return {
      ...unit,
      request: {
        ...unit.request,
        method: 'PUT',
        path: `${unit.request.path}/${id}`,
        body: { ...body, id },
        skipUnchanged: true,
      },
    };
  }

  async function removeUploads(sources: readonly BulkImportSource[]): Promise<void> {
    for (const source of sources) if (source.upload) await deps.uploads.remove(source.path);
  }
}

/** A UUID (version 8, RFC 9562: custom) from the SHA-256 of `origin`. */
function uuidFrom(origin: string): string {
  const hex = createHash('sha256').update(origin).digest('hex');
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function saved(progress: ImportProgress, files: number): JsonObject {
  return {
    phase: `loading file ${Math.min(progress.fileIndex + 1, files)} of ${files}`,
    done: progress.done,
    failed: progress.failed,
    fileIndex: progress.fileIndex,
    items: progress.items,
    failures: progress.failures.map(failureJson),
  };
}

function failureJson(failure: ImportFailure): JsonObject {
  const { file, line, entry } = failure.location;
  return {
    file,
    ...(line !== undefined ? { line } : {}),
    ...(entry !== undefined ? { entry } : {}),
    diagnostics: failure.diagnostics,
  };
}

function sourcesOf(value: JsonValue | undefined): BulkImportSource[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return [];
    const { path, label, upload } = item;
    if (typeof path !== 'string') return [];
    return [{ path, label: typeof label === 'string' ? label : basename(path), upload: upload === true }];
  });
}

function progressOf(job: Job): ImportProgress {
  const { fileIndex, items, done, failed, failures } = job.progress;
  return {
    fileIndex: typeof fileIndex === 'number' ? fileIndex : 0,
    items: typeof items === 'number' ? items : 0,
    done: typeof done === 'number' ? done : 0,
    failed: typeof failed === 'number' ? failed : 0,
    failures: Array.isArray(failures) ? failures.flatMap(failureFrom) : [],
  };
}

function failureFrom(value: JsonValue): ImportFailure[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const { file, line, entry, diagnostics } = value;
  if (typeof file !== 'string' || typeof diagnostics !== 'string') return [];
  return [
    {
      location: {
        file,
        ...(typeof line === 'number' ? { line } : {}),
        ...(typeof entry === 'number' ? { entry } : {}),
      },
      diagnostics,
    },
  ];
}

/** Carries a checkpoint's error (JobStopped, a database failure) past the unreadable-file handler. */
class CheckpointFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('checkpoint failed');
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
