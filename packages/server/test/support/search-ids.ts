/**
 * Ids of the current resources that a search finds, for store-level tests: the criteria are
 * search parameters as a client sends them, parsed by the same parser as the REST door.
 */
import { parseSearch, type SearchParameterRegistry } from '@concordia/fhir';
import type { RequestContext } from '../../src/access/request-context.ts';
import type { StoreReads } from '../../src/store/port.ts';

export type Criteria = [string, string][];

export async function searchIds(
  reads: StoreReads,
  ctx: RequestContext,
  resourceType: string,
  criteria: Criteria,
  count: number,
  registry?: SearchParameterRegistry,
): Promise<string[]> {
  const { query, issues } = parseSearch({ resourceType, pairs: criteria }, registry);
  if (issues.length > 0) throw new Error(`criteria the search does not take: ${JSON.stringify(issues)}`);
  const page = await reads.search(ctx, {
    resourceTypes: [resourceType],
    allTypes: false,
    filters: query.filters,
    sort: [],
    count,
    total: 'none',
    includes: [],
    includeLimit: 0,
  });
  return page.matches.map((match) => match.id);
}
