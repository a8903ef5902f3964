/**
 * What writing a SearchParameter does besides storing it (custom-search-parameters.ts): a bad one
 * is refused inside the transaction; after the commit the registry is reloaded, and the types a
 * parameter no longer applies to (deleted, retired, or given other bases) get a reindex job that
 * drops its index rows. The job is enqueued after the commit: if the node dies in between, the
 * rows stay until the next reindex of those types — never searchable, since the parameter is gone.
 */
import type { Logger } from 'pino';
import type { JobQueue } from '../jobs/job.ts';
import { REINDEX_JOB, reindexParams } from '../jobs/reindex-job.ts';
import type { CustomSearchParameters } from './custom-search-parameters.ts';
import type { WriteHook } from './write-hooks.ts';

export function searchParameterWrites(
  searchParameters: CustomSearchParameters,
  jobs: JobQueue,
  logger: Pick<Logger, 'error'>,
): WriteHook {
  return {
    resourceType: 'SearchParameter',
    beforeApply(change) {
      if (change.kind === 'write') searchParameters.check(change.resource);
    },
    async afterCommit(versions) {
      const before = new Map(versions.map((version) => [version.id, searchParameters.byId(version.id)]));
      try {
        await searchParameters.refresh();
        for (const [id, previous] of before) {
          if (previous === undefined) continue;
          const now = new Set(searchParameters.byId(id)?.types ?? []);
          const dropped = previous.types.filter((type) => !now.has(type));
          if (dropped.length === 0) continue;
          await jobs.enqueue(
            REINDEX_JOB,
            reindexParams({
              types: dropped,
              reason: `SearchParameter/${id} no longer applies to these types`,
            }),
          );
        }
      } catch (error) {
        logger.error({ err: error }, 'applying a SearchParameter change after its commit failed');
      }
    },
  };
}
