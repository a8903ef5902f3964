/**
 * Resolving the search criteria of conditional create/update/delete/patch
 * (http://hl7.org/fhir/R4/http.html#ccreate, #cond-update, #cdelete) with the search itself, so
 * any criteria a search supports work here too (chains, `_has`, dates, references…).
 *
 * Unlike a search, criteria are always handled strictly: ignoring an unknown or unsupported
 * criterion would widen the match and make a conditional update hit the wrong resource.
 *
 * The criteria are evaluated inside the write's transaction after taking a lock keyed by the
 * resource type and the normalised criteria, so two identical conditional writes running at the
 * same time serialise and the second sees the first's result: exactly one resource is created.
 * Different criteria that happen to match the same resource are not serialised (see
 * docs/fhir-api.md).
 */
import {
  decodeCriteriaQuery,
  FhirError,
  fhirError,
  isResourceType,
  parseSearch,
  type SearchQuery,
} from '@concordia/fhir';
import type { StoreTransaction } from '../store/port.ts';
import type { CoreConfig, InteractionEnv } from './interaction-env.ts';
import { planSearch } from './search-plan.ts';

export type ConditionalMatch =
  | { kind: 'none' }
  | { kind: 'one'; id: string }
  | { kind: 'many'; count: number };

/** Only the filters matter; the page size is whatever tells one match from several. */
const CRITERIA_LIMITS: CoreConfig = {
  baseUrl: '',
  updateCreate: false,
  defaultPageSize: 2,
  maxPageSize: 2,
  maxIncludes: 0,
  maxBundleEntries: 0,
};

export async function findConditionalMatch(
  tx: StoreTransaction,
  env: Pick<InteractionEnv, 'ctx' | 'searchParameters'>,
  resourceType: string,
  query: [string, string][] | string,
): Promise<ConditionalMatch> {
  if (!isResourceType(resourceType)) {
    throw fhirError('invalid', 'not-supported', `Unknown resource type '${resourceType}'`);
  }
  const pairs = typeof query === 'string' ? decodeCriteriaQuery(resourceType, query) : query;
  const paging = pairs.find(([name]) => name === '_cursor' || name === '_type');
  if (paging !== undefined) {
    throw fhirError('invalid', 'not-supported', `'${paging[0]}' has no meaning in conditional criteria`);
  }
  const parsed = parseSearch({ resourceType, pairs }, env.searchParameters);
  refuseResultParameters(parsed.query);
  if (parsed.query.filters.length === 0 && parsed.issues.length === 0) {
    throw fhirError('invalid', 'invalid', 'Conditional interactions need at least one search criterion');
  }
  const plan = planSearch(parsed.query, CRITERIA_LIMITS, {});
  const [issue] = [...parsed.issues, ...plan.issues];
  if (issue !== undefined) throw new FhirError('invalid', issue);
  await tx.lock(`conditional:${resourceType}?${canonicalCriteria(parsed.query)}`);
  const page = await tx.search(env.ctx, { ...plan.store, count: 2 });
  const [first, second] = page.matches;
  if (first === undefined) return { kind: 'none' };
  if (second === undefined) return { kind: 'one', id: first.id };
  return { kind: 'many', count: page.matches.length };
}

export function multipleMatches(resourceType: string): never {
  throw fhirError(
    'precondition-failed',
    'multiple-matches',
    `The criteria match more than one ${resourceType}; make them more selective`,
  );
}

/** `_count`, `_sort`, `_include`… shape a result page; as criteria they would mean nothing. */
function refuseResultParameters(query: SearchQuery): void {
  const shaping =
    query.count !== undefined ||
    query.sort.length > 0 ||
    query.total !== undefined ||
    query.summary !== undefined ||
    query.elements !== undefined ||
    query.includes.length > 0 ||
    query.contained !== undefined ||
    query.containedType !== undefined;
  if (shaping) {
    throw fhirError(
      'invalid',
      'not-supported',
      'Result parameters (_count, _sort, _include, …) have no meaning in conditional criteria',
    );
  }
}

/** The same criteria in any order give the same lock key. */
function canonicalCriteria(query: SearchQuery): string {
  return query.filters
    .map((filter) => JSON.stringify(filter))
    .sort()
    .join('&');
}
