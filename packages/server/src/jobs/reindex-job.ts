/**
 * The reindex job (`$reindex`, `concordia reindex`, and after a SearchParameter is deleted):
 * rewrites the index rows of every current resource of its types with the server's search
 * parameters, in batches (store `reindex`), checkpointing after each committed batch: a job
 * resumed after a crash starts after the last batch it saved, and redoing a batch is harmless.
 *
 * When it has covered all its types, it records that the custom parameters it started with are
 * indexed for those types (`search_parameter_coverage`), which makes them searchable.
 *
 * Before the first batch it waits until the last SearchParameter change is older than the
 * search-parameter refresh interval, so every node indexes new writes with the same parameters
 * the job indexes old ones with (a node picks changes up within that interval).
 */
import { systemContext } from '../access/request-context.ts';
import type { CustomSearchParameters, RegisteredSearchParameter } from '../fhir/custom-search-parameters.ts';
import type { ResourceStore } from '../store/port.ts';
import type { SearchParameterSource } from '../store/search-parameter-rows.ts';
import type { Job, JobContext, JobHandler, JsonObject, JsonValue } from './job.ts';

export const REINDEX_JOB = 'reindex';

/** Resources per batch: one transaction each, small enough not to hold row locks for long. */
export const REINDEX_BATCH_SIZE = 500;

export interface ReindexParams {
  /** The concrete resource types to reindex, in order. */
  types: string[];
  /** The `searchParameter` asked for, as given (informational). */
  searchParameter?: string;
  /** Why the job exists, when the server started it itself. */
  reason?: string;
}

export function reindexParams(params: ReindexParams): JsonObject {
  return {
    types: [...params.types].sort(),
    ...(params.searchParameter !== undefined ? { searchParameter: params.searchParameter } : {}),
    ...(params.reason !== undefined ? { reason: params.reason } : {}),
  };
}

interface ReindexProgress {
  done: number;
  total: number;
  /** Index in `types` of the type being reindexed, and the last id done in it. */
  typeIndex: number;
  afterId?: string;
  /** The custom parameters (and versions) the job started with: what it will record as covered. */
  covering: RegisteredSearchParameter[];
}

export interface ReindexJobDeps {
  store: ResourceStore;
  searchParameters: CustomSearchParameters;
  source: SearchParameterSource;
  batchSize?: number;
  /** Waits `ms` (tests pass one that returns at once). */
  sleep?: (ms: number) => Promise<void>;
}

export function reindexJobHandler(deps: ReindexJobDeps): JobHandler {
  const batchSize = deps.batchSize ?? REINDEX_BATCH_SIZE;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const ctx = systemContext('reindex');
  return {
    kind: REINDEX_JOB,
    async run(job: Job, context: JobContext): Promise<JsonObject> {
      const types = stringList(job.params.types);
      let progress = progressOf(job);
      if (progress === undefined) {
        await settle(deps, sleep);
        await deps.searchParameters.refresh();
        progress = {
          done: 0,
          total: await deps.store.countCurrent(ctx, types),
          typeIndex: 0,
          covering: deps.searchParameters.snapshot(),
        };
        await context.checkpoint(saved(progress, 'reindexing'));
      } else {
        // Resumed: index with what the database holds now, not with what this node last saw.
        await deps.searchParameters.refresh();
      }
      while (progress.typeIndex < types.length) {
        const resourceType = types[progress.typeIndex] ?? '';
        const batch = await deps.store.reindex(ctx, {
          resourceType,
          limit: batchSize,
          ...(progress.afterId !== undefined ? { afterId: progress.afterId } : {}),
        });
        if (batch.lastId === undefined || batch.count < batchSize) {
          const { afterId: _, ...rest } = progress;
          progress = { ...rest, done: progress.done + batch.count, typeIndex: progress.typeIndex + 1 };
        } else {
          progress = { ...progress, done: progress.done + batch.count, afterId: batch.lastId };
        }
        await context.checkpoint(saved(progress, 'reindexing'));
      }
      await deps.searchParameters.recordCoverage(types, progress.covering);
      return { resources: progress.done, types: types.length };
    },
  };
}

/** Waits until the newest SearchParameter change is older than the nodes' refresh interval. */
async function settle(deps: ReindexJobDeps, sleep: (ms: number) => Promise<void>): Promise<void> {
  const age = await deps.source.sinceLastChangeMs();
  const interval = deps.searchParameters.refreshIntervalMs;
  if (age !== undefined && age < interval) await sleep(interval - age);
}

function saved(progress: ReindexProgress, phase: string): JsonObject {
  return {
    phase,
    done: progress.done,
    total: progress.total,
    typeIndex: progress.typeIndex,
    ...(progress.afterId !== undefined ? { afterId: progress.afterId } : {}),
    covering: progress.covering.map((entry) => ({ ...entry, types: entry.types })),
  };
}

/** The checkpoint a resumed job goes on from; undefined before its first one. */
function progressOf(job: Job): ReindexProgress | undefined {
  const { done, total, typeIndex, afterId, covering } = job.progress;
  if (typeof done !== 'number' || typeof total !== 'number' || typeof typeIndex !== 'number')
    return undefined;
  if (!Array.isArray(covering)) return undefined;
  return {
    done,
    total,
    typeIndex,
    ...(typeof afterId === 'string' ? { afterId } : {}),
    covering: covering.flatMap(registeredFrom),
  };
}

function registeredFrom(value: JsonValue): RegisteredSearchParameter[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const { id, url, code, versionSeq, types } = value;
  if (typeof id !== 'string' || typeof url !== 'string' || typeof code !== 'string') return [];
  if (typeof versionSeq !== 'number') return [];
  return [{ id, url, code, versionSeq, types: stringList(types) }];
}

function stringList(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
