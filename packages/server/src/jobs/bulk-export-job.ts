/**
 * The bulk export job (https://hl7.org/fhir/uv/bulkdata/export.html): reads the exported
 * resources in keyset pages through the store's search, in one pass over every type or a pass per
 * type (`stepsOf`) — so `_typeFilter` is any search this server supports, and `_since`, Patient and
 * Group level are filters of the same statement, all under the requester's access decision — and
 * appends each page to NDJSON files
 * (export-files.ts) as the stored JSON text, parsed only when `_elements` or element masking
 * must change it. The next page is read while the current one is written. Memory follows the page
 * size, never the size of the export.
 *
 * With `_since` it then lists the resources deleted since, from the history (manifest `deleted`);
 * with `includeAssociatedData` it writes beside each page the Provenance resources that target it.
 *
 * At most every second it syncs the files and checkpoints its position: step (type), `_typeFilter`
 * query, search cursor, and each file's line count and length. A job resumed after its node died
 * reopens the files at those lengths and reads on from the cursor, so no line is lost or written
 * twice. Resources changed after the export's `transactionTime` (when it was requested) are left
 * out, so a follow-up export with `_since=transactionTime` picks up exactly what this one did not.
 */
import {
  isRecord,
  isResourceType,
  parseSearch,
  referenceTarget,
  type SearchParameterRegistry,
  selectElements,
} from '@concordia/fhir';
import { decideAccess, type ElementMasks } from '../access/access-policy.ts';
import { subjectContext } from '../access/access-subject.ts';
import { maskJson } from '../access/element-masking.ts';
import { type RequestContext, systemContext } from '../access/request-context.ts';
import type { CoreConfig } from '../fhir/interaction-env.ts';
import { planSearch } from '../fhir/search-plan.ts';
import type { ResourceStore, StoredMatch, StoredVersion, StoreSearch } from '../store/port.ts';
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
  store: Pick<ResourceStore, 'search' | 'countCurrent' | 'history' | 'read' | 'readVersion'>;
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

/**
 * What the export reads, in this order (`ExportPosition.typeIndex` counts steps):
 * 1. the resources of the types without `_typeFilter`. When they are every type there is (a
 *    system export without `_type`), in one keyset pass over the whole primary key in (type, id)
 *    order: 140-odd types, most of them empty, would otherwise cost a statement each, and more
 *    than the resources of a 100,000-resource database take to write. (Naming the types instead,
 *    `resource_type = any(…)`, makes PostgreSQL 15 rescan the ranges of the types before the
 *    cursor on every page: 677 ms a page against 1.3 ms.) Otherwise a pass per type;
 * 2. each type with `_typeFilter` queries, one after the other;
 * 3. with `_since`, the deletions of every type (manifest `deleted`), from the system history.
 */
interface ExportStep {
  kind: 'output' | 'deleted';
  /** Empty: every type (an output step of all types). */
  types: string[];
}

function stepsOf(params: ExportParams, everyType: readonly string[]): ExportStep[] {
  const filtered = (type: string) => (params.typeFilters[type] ?? []).length > 0;
  const plain = new Set(params.types.filter((type) => !filtered(type)));
  const all = everyType.length > 0 && everyType.every((type) => plain.has(type));
  const steps: ExportStep[] = all
    ? [{ kind: 'output', types: [] }]
    : [...plain].map((type) => ({ kind: 'output', types: [type] }));
  for (const type of params.types.filter(filtered)) steps.push({ kind: 'output', types: [type] });
  if (params.since !== undefined) steps.push({ kind: 'deleted', types: params.types });
  return steps;
}

/**
 * The layout of the steps a checkpoint counts in; a checkpoint of another layout (written by an
 * earlier version of this job, which had a step per type) starts the export again from scratch.
 */
const STEP_LAYOUT = 2;

/** Where a checkpoint left the export. */
interface ExportPosition {
  /** Index in `stepsOf(params)`. */
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
        position = await exportSteps(deps, params, transactionTime, position, writer, context, ctx);
        // The last checkpoint: an export cancelled after the previous one stops here and removes
        // its files instead of completing. What follows is written again by a resumed job.
        await writer.sync();
        await context.checkpoint(saved(position, undefined));
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

/** One page of a step, and where the step goes on after it (`next`: none when the step is done). */
type StepPage =
  | { kind: 'output'; matches: StoredMatch[]; next?: string }
  | { kind: 'deleted'; versions: StoredVersion[]; next?: string };

async function exportSteps(
  deps: BulkExportJobDeps,
  params: ExportParams,
  transactionTime: string,
  start: ExportPosition,
  writer: ExportWriter,
  context: JobContext,
  ctx: RequestContext,
): Promise<ExportPosition> {
  const { masks } = decideAccess(ctx, { kind: 'read' });
  const shape = lineShaper(params.elements, masks);
  const steps = stepsOf(params, deps.searchParameters.resourceTypesOf('Resource'));
  const interval = deps.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS;
  const queriesOf = (type: string) => {
    const filters = params.typeFilters[type] ?? [];
    return filters.length === 0 ? [''] : filters;
  };
  const read = (at: ExportPosition): Promise<StepPage> => {
    const step = steps[at.typeIndex];
    if (step === undefined) return Promise.resolve({ kind: 'output', matches: [] });
    if (step.kind === 'deleted')
      return deletedPage(deps, params, transactionTime, step.types, at.cursor, ctx);
    const [type] = step.types;
    const query = type === undefined ? '' : (queriesOf(type)[at.filterIndex] ?? '');
    const search = pageSearch(deps, params, transactionTime, step.types, query, at.cursor);
    return deps.store.search(ctx, search).then((page) => ({
      kind: 'output' as const,
      matches: page.matches,
      ...(page.next !== undefined ? { next: page.next } : {}),
    }));
  };
  /** Where reading goes on after a page of `at` that ended with `next`. */
  const after = (at: ExportPosition, next: string | undefined): ExportPosition => {
    if (next !== undefined) return { ...at, cursor: next };
    const step = steps[at.typeIndex];
    const [type = ''] = step?.types ?? [];
    if (step?.kind === 'output' && step.types.length === 1 && at.filterIndex + 1 < queriesOf(type).length) {
      return { ...withoutCursor(at), filterIndex: at.filterIndex + 1 };
    }
    return { ...withoutCursor(at), typeIndex: at.typeIndex + 1, filterIndex: 0 };
  };
  const keyOf = (at: ExportPosition) => `${at.typeIndex}/${at.filterIndex}/${at.cursor ?? ''}`;

  let position = start;
  let lastCheckpoint = Date.now();
  /** The type being written, for `X-Progress`. */
  let writing = steps[position.typeIndex]?.types[0];
  let ahead: { key: string; page: Promise<StepPage> } | undefined;
  for (let step = steps[position.typeIndex]; step !== undefined; step = steps[position.typeIndex]) {
    const page = await (ahead?.key === keyOf(position) ? ahead.page : read(position));
    const following = after(position, page.next);
    // The next page is read while this one is written: the database and the writer overlap.
    // A rejection is seen when that page is awaited; the guard only keeps an abandoned read (the
    // job stopped at a checkpoint meanwhile) from being an unhandled rejection.
    ahead = undefined;
    if (following.typeIndex < steps.length) {
      const next = read(following);
      next.catch(() => undefined);
      ahead = { key: keyOf(following), page: next };
    }
    let done = position.done;
    if (page.kind === 'output') {
      const { matches } = page;
      // A resource matching two `_typeFilter` queries of its type is written by the first only.
      const fresh =
        position.filterIndex === 0
          ? matches
          : await withoutEarlier(
              deps,
              params,
              transactionTime,
              step.types[0] ?? '',
              queriesOf(step.types[0] ?? '').slice(0, position.filterIndex),
              matches,
            );
      for (const run of runsByType(fresh)) {
        writing = run.type;
        await writer.append('output', run.type, run.matches.map(shape));
        if (params.associatedData.length > 0 && run.type !== 'Provenance') {
          const provenance = await associatedProvenance(deps, params, transactionTime, run, ctx);
          await writer.append('output', 'Provenance', provenance.map(shape));
        }
      }
      done += matches.length;
    } else {
      await writer.append('deleted', 'Bundle', page.versions.map(deletionBundle));
    }
    position = { ...following, done, files: writer.files() };
    // A resumed job cuts the files back to the last checkpoint, so checkpoints need not follow
    // every page or every type: one per interval. A system export has a hundred-odd types, most
    // of them empty; an fsync and a checkpoint after each cost more than the export itself.
    if (Date.now() - lastCheckpoint >= interval && position.typeIndex < steps.length) {
      await writer.sync();
      await context.checkpoint(saved(position, writing));
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

/**
 * One page of `types` (none: every type) in (type, id) order: the `_typeFilter` query of a single
 * type, changed in (`_since`, `transactionTime`], in the compartments asked for. Every type shares
 * no query but those bounds, parameters common to all.
 */
export function pageSearch(
  deps: Pick<BulkExportJobDeps, 'searchParameters' | 'pageSize'>,
  params: Pick<ExportParams, 'level' | 'since' | 'patients'>,
  transactionTime: string,
  types: readonly string[],
  query: string,
  cursor: string | undefined,
): StoreSearch {
  const [type = 'Resource'] = types;
  if (types.length !== 1 && query !== '') throw new Error('a _typeFilter query applies to one type');
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
    resourceTypes: [...types],
    allTypes: types.length === 0,
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
    const search = pageSearch(deps, params, transactionTime, [type], `${query}&_id=${ids}`, undefined);
    const page = await deps.store.search(systemContext(BULK_EXPORT_JOB), {
      ...search,
      count: matches.length,
    });
    for (const match of page.matches) seen.add(match.id);
  }
  return matches.filter((match) => !seen.has(match.id));
}

/**
 * How a stored resource becomes an NDJSON line. The stored JSON text is one line already and goes
 * out as it is, unparsed, unless `_elements` or the requester's element masks change it; only a
 * text with a line break in it (not written by this server) is parsed and written again.
 */
function lineShaper(
  elements: readonly string[] | undefined,
  masks: ElementMasks,
): (match: StoredMatch) => string {
  const masked = masks.size === 0 ? (json: string) => json : (json: string) => maskJson(json, masks);
  if (elements !== undefined) {
    return (match) => masked(JSON.stringify(selectElements(JSON.parse(match.json), elements)));
  }
  return (match) => masked(match.json.includes('\n') ? JSON.stringify(JSON.parse(match.json)) : match.json);
}

/**
 * One page of the resources of `types` deleted in (`_since`, `transactionTime`]
 * (export.html#response---complete-status, `deleted`): the tombstones in the system history,
 * newest first, that are still the resource's current version — a resource deleted and created
 * again is exported in `output`, not listed as deleted. History and the current version are read
 * under the requester's access decision, like everything else.
 *
 * At Patient and Group level only deletions of what the export would have returned count: the
 * compartment rows of a deleted resource are gone, so the version before the tombstone decides
 * (`inCompartments`).
 */
async function deletedPage(
  deps: BulkExportJobDeps,
  params: Pick<ExportParams, 'since' | 'level' | 'patients'>,
  transactionTime: string,
  types: readonly string[],
  cursor: string | undefined,
  ctx: RequestContext,
): Promise<StepPage> {
  const since = params.since ?? transactionTime;
  const page = await deps.store.history(ctx, {
    since,
    count: deps.pageSize,
    ...(cursor !== undefined ? { cursor } : {}),
  });
  const wanted = new Set(types);
  const after = Date.parse(since);
  const until = Date.parse(transactionTime);
  const versions: StoredVersion[] = [];
  for (const version of page.versions) {
    const at = Date.parse(version.lastUpdated);
    if (!version.deleted || !wanted.has(version.resourceType) || at <= after || at > until) continue;
    const current = await deps.store.read(ctx, version.resourceType, version.id);
    if (current?.deleted !== true || current.versionId !== version.versionId) continue;
    if (params.level !== 'system') {
      const before = await deps.store.readVersion(
        ctx,
        version.resourceType,
        version.id,
        version.versionId - 1,
      );
      if (before?.json === undefined || !inCompartments(before, params.patients)) continue;
    }
    versions.push(version);
  }
  return { kind: 'deleted', versions, ...(page.next !== undefined ? { next: page.next } : {}) };
}

/**
 * Whether a version was in the compartment of one of `patients` (of any Patient when undefined):
 * it is one of those Patients, or refers to one. Any reference counts, not only the compartment
 * definition's parameters — the indexer that knows those wrote rows that are now deleted — so this
 * errs towards listing a deletion: an id the client may already hold, never a resource's content.
 */
function inCompartments(version: StoredVersion, patients: readonly string[] | undefined): boolean {
  const wanted = (id: string) => patients === undefined || patients.includes(id);
  if (version.resourceType === 'Patient') return wanted(version.id);
  for (const [, reference] of (version.json ?? '').matchAll(/"reference"\s*:\s*"([^"]*)"/g)) {
    const target = referenceTarget(reference ?? '', isResourceType);
    if (target?.type === 'Patient' && wanted(target.id)) return true;
  }
  return false;
}

/** Consecutive matches of one type: a page in (type, id) order is a few runs. */
function runsByType(matches: readonly StoredMatch[]): { type: string; matches: StoredMatch[] }[] {
  const runs: { type: string; matches: StoredMatch[] }[] = [];
  for (const match of matches) {
    const last = runs.at(-1);
    if (last?.type === match.resourceType) last.matches.push(match);
    else runs.push({ type: match.resourceType, matches: [match] });
  }
  return runs;
}

/** export.html: each line of a `deleted` file is a transaction Bundle of `DELETE` entries. */
function deletionBundle(version: StoredVersion): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    meta: { lastUpdated: version.lastUpdated },
    entry: [{ request: { method: 'DELETE', url: `${version.resourceType}/${version.id}` } }],
  });
}

/**
 * `includeAssociatedData` (export.html#query-parameters): the Provenance resources whose `target`
 * is one of `matches` — the most recent one of each (`LatestProvenanceResources`, by
 * `meta.lastUpdated`) or all of them (`RelevantProvenanceResources`) — read with the same access
 * decision and `transactionTime` bound as the export. Each is written once per page; a Provenance
 * of resources on two pages, or one also exported as a type of its own, appears once for each.
 */
async function associatedProvenance(
  deps: BulkExportJobDeps,
  params: Pick<ExportParams, 'associatedData'>,
  transactionTime: string,
  { type, matches }: { type: string; matches: readonly StoredMatch[] },
  ctx: RequestContext,
): Promise<StoredMatch[]> {
  const targets = new Set(matches.map((match) => `${type}/${match.id}`));
  const found: { match: StoredMatch; lastUpdated: string; targets: string[] }[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ target: [...targets].join(',') }).toString();
    const search = pageSearch(deps, { level: 'system' }, transactionTime, ['Provenance'], query, cursor);
    const page = await deps.store.search(ctx, search);
    for (const match of page.matches) {
      const resource: unknown = JSON.parse(match.json);
      if (!isRecord(resource)) continue;
      const meta = isRecord(resource.meta) ? resource.meta : {};
      const references = Array.isArray(resource.target) ? resource.target : [];
      const targetsOf = references.flatMap((reference) => {
        const text =
          isRecord(reference) && typeof reference.reference === 'string' ? reference.reference : '';
        const target = referenceTarget(text, isResourceType);
        return target === undefined ? [] : [`${target.type}/${target.id}`];
      });
      found.push({
        match,
        lastUpdated: typeof meta.lastUpdated === 'string' ? meta.lastUpdated : '',
        targets: targetsOf.filter((target) => targets.has(target)),
      });
    }
    cursor = page.next;
  } while (cursor !== undefined);
  if (params.associatedData.includes('RelevantProvenanceResources')) return found.map((entry) => entry.match);
  const latest = new Map<string, (typeof found)[number]>();
  for (const entry of found) {
    for (const target of entry.targets) {
      const held = latest.get(target);
      if (held === undefined || Date.parse(entry.lastUpdated) > Date.parse(held.lastUpdated)) {
        latest.set(target, entry);
      }
    }
  }
  return [...new Set([...latest.values()].map((entry) => entry.match))];
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
    deleted: listed('deleted'),
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
    layout: STEP_LAYOUT,
    typeIndex: position.typeIndex,
    filterIndex: position.filterIndex,
    ...(position.cursor !== undefined ? { cursor: position.cursor } : {}),
    files: position.files.map((file) => ({ ...file })),
  };
}

/** The checkpoint a resumed job goes on from; undefined before its first one. */
function positionOf(job: Job): ExportPosition | undefined {
  const { layout, typeIndex, filterIndex, cursor, done, total, files } = job.progress;
  if (layout !== STEP_LAYOUT) return undefined;
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
  if (kind !== 'output' && kind !== 'error' && kind !== 'deleted') return [];
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
