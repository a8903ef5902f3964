/**
 * The bulk export job (https://hl7.org/fhir/uv/bulkdata/export.html): reads the exported
 * resources type by type in keyset pages through the store's search — so `_typeFilter` is any
 * search this server supports, and `_since`, Patient and Group level are filters of the same
 * statement — and appends each page to NDJSON files (export-files.ts). Memory follows the page
 * size, never the size of the export.
 *
 * At most every second, and at the end of each type, it syncs the files and checkpoints its
 * position: type, `_typeFilter` query,
 * search cursor, and each file's line count and length. A job resumed after its node died
 * reopens the files at those lengths and reads on from the cursor, so no line is lost or written
 * twice. Resources changed after the export's `transactionTime` (when it was requested) are left
 * out, so a follow-up export with `_since=transactionTime` picks up exactly what this one did not.
 */
import { parseSearch, type SearchParameterRegistry, selectElements } from '@concordia/fhir';
import { decideAccess } from '../access/access-policy.ts';
import { subjectContext } from '../access/access-subject.ts';
import { maskJson } from '../access/element-masking.ts';
import { type RequestContext, systemContext } from '../access/request-context.ts';
import type { CoreConfig } from '../fhir/interaction-env.ts';
import { planSearch } from '../fhir/search-plan.ts';
import type { ResourceStore, StoredMatch, StoreSearch } from '../store/port.ts';
import { BULK_EXPORT_JOB, type ExportParams, exportParamsOf } from './bulk-export-params.ts';
import {
  type ExportFile,
  type ExportWriter,
  type FileLimits,
  openExportWriter,
  removeExport,
} from './export-files.ts';
import {
  type Job,
  type JobContext,
  type JobHandler,
  JobStopped,
  type JsonObject,
  type JsonValue,
} from './job.ts';

export interface BulkExportJobDeps {
  store: Pick<ResourceStore, 'search' | 'countCurrent'>;
  /** The server's search parameters, which `_typeFilter` queries are parsed with. */
  searchParameters: SearchParameterRegistry;
  exportDir: string;
  pageSize: number;
  limits: FileLimits;
  /**
   * How often a running export makes its progress durable and notices a cancel (default 1 s): an
   * fsync and a checkpoint row per page would cost more than reading the page.
   */
  checkpointIntervalMs?: number;
}

/** Where a checkpoint left the export. */
interface ExportPosition {
  typeIndex: number;
  /** Index in the type's `_typeFilter` queries (0 when it has none). */
  filterIndex: number;
  cursor?: string;
  done: number;
  total: number;
  files: ExportFile[];
}

export function bulkExportJobHandler(deps: BulkExportJobDeps): JobHandler {
  return {
    kind: BULK_EXPORT_JOB,
    async run(job: Job, context: JobContext): Promise<JsonObject> {
      const params = exportParamsOf(job.params);
      const ctx = readingContext(params, job.id);
      const transactionTime = job.createdAt;
      let position = positionOf(job);
      if (position === undefined) {
        const total = await deps.store.countCurrent(ctx, params.types);
        position = { typeIndex: 0, filterIndex: 0, done: 0, total, files: [] };
      }
      const writer = await openExportWriter(deps.exportDir, job.id, position.files, deps.limits);
      try {
        position = await exportTypes(deps, params, transactionTime, position, writer, context, ctx);
        if (params.ignored.length > 0) {
          await writer.append('error', 'OperationOutcome', [ignoredOutcome(params.ignored)]);
        }
        await writer.close();
        return resultOf(params, transactionTime, writer.files());
      } catch (error) {
        await writer.close();
        if (error instanceof JobStopped && error.reason === 'cancelled') {
          await removeExport(deps.exportDir, job.id);
        }
        throw error;
      }
    },
  };
}

async function exportTypes(
  deps: BulkExportJobDeps,
  params: ExportParams,
  transactionTime: string,
  start: ExportPosition,
  writer: ExportWriter,
  context: JobContext,
  ctx: RequestContext,
): Promise<ExportPosition> {
  const { masks } = decideAccess(ctx, { kind: 'read' });
  let position = start;
  let lastCheckpoint = Date.now();
  while (position.typeIndex < params.types.length) {
    const type = params.types[position.typeIndex] ?? '';
    const filters = params.typeFilters[type] ?? [];
    const queries = filters.length === 0 ? [''] : filters;
    const query = queries[position.filterIndex] ?? '';
    const search = pageSearch(deps, params, transactionTime, type, query, position.cursor);
    const page = await deps.store.search(ctx, search);
    // A resource matching two `_typeFilter` queries of its type is written by the first only.
    const fresh =
      position.filterIndex === 0
        ? page.matches
        : await withoutEarlier(
            deps,
            params,
            transactionTime,
            type,
            queries.slice(0, position.filterIndex),
            page.matches,
          );
    await writer.append(
      'output',
      type,
      fresh.map((match) => maskJson(line(match, params.elements), masks)),
    );
    const done = position.done + page.matches.length;
    if (page.next !== undefined) {
      position = { ...position, cursor: page.next, done, files: writer.files() };
    } else if (position.filterIndex + 1 < queries.length) {
      position = {
        ...withoutCursor(position),
        filterIndex: position.filterIndex + 1,
        done,
        files: writer.files(),
      };
    } else {
      position = {
        ...withoutCursor(position),
        typeIndex: position.typeIndex + 1,
        filterIndex: 0,
        done,
        files: writer.files(),
      };
    }
    // A resumed job cuts the files back to the last checkpoint, so checkpoints need not follow
    // every page: one per interval, and whenever a type or filter ends.
    const samePass = page.next !== undefined;
    if (!samePass || Date.now() - lastCheckpoint >= (deps.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS)) {
      await writer.sync();
      await context.checkpoint(saved(position, params.types[position.typeIndex]));
      lastCheckpoint = Date.now();
    }
  }
  return position;
}

const CHECKPOINT_INTERVAL_MS = 1_000;

/** Export reads ask for no sort, includes or total: the keyset order is (type, id). */
const EXPORT_LIMITS: CoreConfig = {
  baseUrl: '',
  updateCreate: false,
  defaultPageSize: 1,
  maxPageSize: 10_000,
  maxIncludes: 0,
  maxBundleEntries: 0,
};

/** One page of `type`: its `_typeFilter` query, changed in (`_since`, `transactionTime`], in the compartments asked for. */
export function pageSearch(
  deps: Pick<BulkExportJobDeps, 'searchParameters' | 'pageSize'>,
  params: Pick<ExportParams, 'level' | 'since' | 'patients'>,
  transactionTime: string,
  type: string,
  query: string,
  cursor: string | undefined,
): StoreSearch {
  const pairs: [string, string][] = [...new URLSearchParams(query)];
  pairs.push(['_lastUpdated', `le${transactionTime}`]);
  if (params.since !== undefined) pairs.push(['_lastUpdated', `gt${params.since}`]);
  const parsed = parseSearch({ resourceType: type, pairs }, deps.searchParameters);
  const plan = planSearch(parsed.query, EXPORT_LIMITS, cursor === undefined ? {} : { cursor });
  const [issue] = [...parsed.issues, ...plan.issues];
  // The kick-off checked the query; a SearchParameter deleted since then fails the job.
  if (issue !== undefined)
    throw new Error(`_typeFilter ${type}?${query}: ${issue.diagnostics ?? issue.code}`);
  const patientCompartments = params.level === 'system' ? undefined : (params.patients ?? ('any' as const));
  return {
    ...plan.store,
    sort: [],
    includes: [],
    includeLimit: 0,
    total: 'none',
    count: deps.pageSize,
    ...(patientCompartments !== undefined ? { patientCompartments } : {}),
  };
}

async function withoutEarlier(
  deps: BulkExportJobDeps,
  params: ExportParams,
  transactionTime: string,
  type: string,
  earlier: readonly string[],
  matches: readonly StoredMatch[],
): Promise<StoredMatch[]> {
  if (matches.length === 0) return [];
  const ids = matches.map((match) => match.id).join(',');
  const seen = new Set<string>();
  for (const query of earlier) {
    const search = pageSearch(deps, params, transactionTime, type, `${query}&_id=${ids}`, undefined);
    const page = await deps.store.search(systemContext(BULK_EXPORT_JOB), {
      ...search,
      count: matches.length,
    });
    for (const match of page.matches) seen.add(match.id);
  }
  return matches.filter((match) => !seen.has(match.id));
}

/** One NDJSON line: the stored JSON (one line already), or its `_elements` subset. */
function line(match: StoredMatch, elements: readonly string[] | undefined): string {
  if (elements !== undefined) return JSON.stringify(selectElements(JSON.parse(match.json), elements));
  return match.json.includes('\n') ? JSON.stringify(JSON.parse(match.json)) : match.json;
}

function ignoredOutcome(ignored: readonly string[]): string {
  return JSON.stringify({
    resourceType: 'OperationOutcome',
    issue: ignored.map((diagnostics) => ({ severity: 'warning', code: 'not-supported', diagnostics })),
  });
}

function resultOf(params: ExportParams, transactionTime: string, files: readonly ExportFile[]): JsonObject {
  const listed = (kind: ExportFile['kind']) =>
    files
      .filter((file) => file.kind === kind && file.count > 0)
      .map((file) => ({ type: file.type, name: file.name, count: file.count }));
  return {
    transactionTime,
    request: params.request,
    output: listed('output'),
    error: listed('error'),
    resources: files.filter((file) => file.kind === 'output').reduce((sum, file) => sum + file.count, 0),
  };
}

function withoutCursor(position: ExportPosition): ExportPosition {
  const { cursor: _, ...rest } = position;
  return rest;
}

function saved(position: ExportPosition, type: string | undefined): JsonObject {
  return {
    phase: type === undefined ? 'finishing' : `exporting ${type}`,
    ...(type !== undefined ? { type } : {}),
    done: position.done,
    total: position.total,
    typeIndex: position.typeIndex,
    filterIndex: position.filterIndex,
    ...(position.cursor !== undefined ? { cursor: position.cursor } : {}),
    files: position.files.map((file) => ({ ...file })),
  };
}

/** The checkpoint a resumed job goes on from; undefined before its first one. */
function positionOf(job: Job): ExportPosition | undefined {
  const { typeIndex, filterIndex, cursor, done, total, files } = job.progress;
  if (typeof typeIndex !== 'number' || typeof filterIndex !== 'number') return undefined;
  if (typeof done !== 'number' || typeof total !== 'number' || !Array.isArray(files)) return undefined;
  return {
    typeIndex,
    filterIndex,
    ...(typeof cursor === 'string' ? { cursor } : {}),
    done,
    total,
    files: files.flatMap(exportFileOf),
  };
}

function exportFileOf(value: JsonValue): ExportFile[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const { kind, type, name, count, bytes } = value;
  if (kind !== 'output' && kind !== 'error') return [];
  if (typeof type !== 'string' || typeof name !== 'string') return [];
  if (typeof count !== 'number' || typeof bytes !== 'number') return [];
  return [{ kind, type, name, count, bytes }];
}

/**
 * The export reads under the requester's access decision (access/access-subject.ts), so its files
 * hold exactly what the requester may read; a job recorded without a subject reads as the server.
 */
function readingContext(params: ExportParams, jobId: string): RequestContext {
  const requestId = `${BULK_EXPORT_JOB}-${jobId}`;
  return params.access === undefined
    ? systemContext(BULK_EXPORT_JOB, requestId)
    : subjectContext(params.access, requestId);
}
