/**
 * `$reindex`: `POST [base]/$reindex` (every type) and `POST [base]/[type]/$reindex`, with an
 * optional `searchParameter` (canonical url or code) that limits it to the types that parameter
 * applies to. R4 defines no such operation; the shape follows the asynchronous request pattern
 * (http://hl7.org/fhir/R4/async.html): the answer is 202 Accepted with `Content-Location` naming
 * the job's status (`$job?id=…`, job-status.ts), and the work runs as a durable job
 * (jobs/reindex-job.ts) that survives a restart.
 */
import { fhirError, informationOutcome } from '@concordia/fhir';
import type { JobQueue } from '../jobs/job.ts';
import { REINDEX_JOB, reindexParams } from '../jobs/reindex-job.ts';
import type { CustomSearchParameters } from './custom-search-parameters.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { jobStatusUrl } from './job-status.ts';
import { type FhirOperation, operationParameters, singleParameter } from './operations.ts';

export const REINDEX_DEFINITION = 'https://concordia.example/fhir/OperationDefinition/reindex';

/**
 * The resource types a reindex covers: `resourceType`, or every type; with `searchParameter`
 * (url or code), only those it applies to.
 * @throws FhirError (400) when that leaves none.
 */
export async function reindexTypes(
  searchParameters: CustomSearchParameters,
  resourceType: string | undefined,
  searchParameter: string | undefined,
): Promise<string[]> {
  const registry = searchParameters.registry;
  if (resourceType !== undefined && !registry.isResourceType(resourceType)) {
    throw fhirError('invalid', 'not-supported', `Unknown resource type '${resourceType}'`);
  }
  const types = resourceType !== undefined ? [resourceType] : registry.resourceTypesOf('Resource');
  if (searchParameter === undefined) return types;
  // Pick up a SearchParameter written on another node moments ago.
  await searchParameters.refresh();
  const applies = new Set(searchParameters.typesOf(searchParameter));
  const covered = types.filter((type) => applies.has(type));
  if (covered.length === 0) {
    const where = resourceType === undefined ? '' : ` on ${resourceType}`;
    throw fhirError('invalid', 'not-found', `No search parameter '${searchParameter}'${where}`, [
      'searchParameter',
    ]);
  }
  return covered;
}

export function reindexOperation(deps: {
  jobs: JobQueue;
  searchParameters: CustomSearchParameters;
}): FhirOperation {
  return {
    name: 'reindex',
    definition: REINDEX_DEFINITION,
    system: true,
    type: '*',
    methods: ['POST'],
    handler: (request, env) => reindex(request, env, deps),
  };
}

async function reindex(
  request: RoutedRequest,
  env: InteractionEnv,
  deps: { jobs: JobQueue; searchParameters: CustomSearchParameters },
): Promise<FhirResponse> {
  const parameters = operationParameters(request.query, request.body);
  const known = new Set(['searchParameter', '_format', '_pretty']);
  const unknown = parameters.find((parameter) => !known.has(parameter.name));
  if (unknown !== undefined) {
    throw fhirError('invalid', 'not-supported', `$reindex has no parameter '${unknown.name}'`, [
      unknown.name,
    ]);
  }
  const searchParameter = singleParameter(parameters, 'searchParameter');
  const types = await reindexTypes(deps.searchParameters, request.resourceType, searchParameter);
  const job = await deps.jobs.enqueue(
    REINDEX_JOB,
    reindexParams({ types, ...(searchParameter !== undefined ? { searchParameter } : {}) }),
  );
  const scope = request.resourceType ?? `${types.length} resource types`;
  return {
    status: 202,
    interaction: 'operation',
    headers: { contentLocation: jobStatusUrl(env.fhirBase, job.id) },
    body: {
      kind: 'resource',
      resource: informationOutcome(`Reindex of ${scope} queued as job ${job.id}`),
    },
  };
}
