/**
 * Resolving the search criteria of conditional create/update/delete/patch
 * (http://hl7.org/fhir/R4/http.html#ccreate, #cond-update, #cdelete).
 *
 * The criteria are evaluated inside the write's transaction after taking a lock keyed by the
 * resource type and the normalised criteria, so two identical conditional writes running at the
 * same time serialise and the second sees the first's result: exactly one resource is created.
 * Different criteria that happen to match the same resource are not serialised (see
 * docs/fhir-api.md); the search issue may widen the lock.
 */
import { type Criterion, fhirError, parseCriteria } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { StoreTransaction } from '../store/port.ts';

export type ConditionalMatch =
  | { kind: 'none' }
  | { kind: 'one'; id: string }
  | { kind: 'many'; count: number };

export async function findConditionalMatch(
  tx: StoreTransaction,
  ctx: RequestContext,
  resourceType: string,
  query: [string, string][] | string,
): Promise<ConditionalMatch> {
  const criteria = parseCriteria(resourceType, query);
  if (criteria.length === 0) {
    throw fhirError('invalid', 'invalid', 'Conditional interactions need at least one search criterion');
  }
  await tx.lock(`conditional:${resourceType}?${canonicalCriteria(criteria)}`);
  const ids = await tx.findIds(ctx, resourceType, criteria, 2);
  const [first] = ids;
  if (first === undefined) return { kind: 'none' };
  if (ids.length === 1) return { kind: 'one', id: first };
  return { kind: 'many', count: ids.length };
}

export function multipleMatches(resourceType: string): never {
  throw fhirError(
    'precondition-failed',
    'multiple-matches',
    `The criteria match more than one ${resourceType}; make them more selective`,
  );
}

function canonicalCriteria(criteria: Criterion[]): string {
  return criteria
    .map((criterion) => JSON.stringify(criterion))
    .sort()
    .join('&');
}
