/**
 * The searchset Bundle (http://hl7.org/fhir/R4/bundle.html#searchset) built around the stored JSON
 * of each match: `fullUrl`, `search.mode` match/include, paging links, and `_summary`/`_elements`
 * shaping (search.html#summary), which alone needs to parse a resource.
 */
import {
  applySummary,
  type FhirResource,
  type OutcomeIssue,
  operationOutcome,
  type SearchQuery,
  selectElements,
} from '@concordia/fhir';
import type { SearchPage, StoredMatch } from '../store/port.ts';
import { type BundleLink, bundleJson, type RawBundleEntry } from './bundle-json.ts';
import { parseStoredJson } from './version-response.ts';

export const CURSOR_PARAMETER = '_cursor';

export interface SearchBundleInput {
  page: SearchPage;
  /** What shapes each entry; `$everything` passes none (its result needs no search query). */
  query: Pick<SearchQuery, 'summary' | 'elements'>;
  fhirBase: string;
  /** The search's own URL below the base (`Patient`, `Patient/1/Observation`, ``). */
  path: string;
  /** The parameters as asked, form body included, so links repeat the search as a GET. */
  pairs: [string, string][];
  /** Issues of a lenient search, reported as an OperationOutcome entry (search.html#errors). */
  issues: OutcomeIssue[];
}

export function searchBundleJson(input: SearchBundleInput): string {
  const { page, query, fhirBase } = input;
  const shape = shaper(query);
  const entries: RawBundleEntry[] = [
    ...page.matches.map((match) => entry(match, 'match', fhirBase, shape)),
    ...page.included.map((match) => entry(match, 'include', fhirBase, shape)),
  ];
  const outcome = input.issues.length === 0 ? undefined : operationOutcome(input.issues);
  return bundleJson(
    {
      type: 'searchset',
      ...(page.total !== undefined ? { total: page.total } : {}),
      link: links(input),
    },
    entries,
    outcome,
  );
}

function entry(
  match: StoredMatch,
  mode: 'match' | 'include',
  fhirBase: string,
  shape: Shaper,
): RawBundleEntry {
  // search.html#contained: a contained resource returned alone is known by its container's URL.
  const { container } = match;
  return {
    fullUrl:
      container === undefined
        ? `${fhirBase}/${match.resourceType}/${match.id}`
        : `${fhirBase}/${container.resourceType}/${container.id}#${match.id}`,
    resourceJson: shape(match.json),
    rest: { search: { mode } },
  };
}

type Shaper = (json: string) => string;

function shaper(query: SearchBundleInput['query']): Shaper {
  const { summary, elements } = query;
  if ((summary === undefined || summary === 'false') && elements === undefined) return (json) => json;
  return (json) => {
    let resource: FhirResource = parseStoredJson(json);
    if (summary !== undefined && summary !== 'count') resource = applySummary(resource, summary);
    if (elements !== undefined) resource = selectElements(resource, elements);
    return JSON.stringify(resource);
  };
}

/** self, first, next and previous; the cursor carries its own direction (search-cursor.ts). */
function links(input: SearchBundleInput): BundleLink[] {
  const url = input.path === '' ? input.fhirBase : `${input.fhirBase}/${input.path}`;
  const withoutCursor = input.pairs.filter(([name]) => name !== CURSOR_PARAMETER);
  const at = (cursor: string | undefined) =>
    withQuery(url, cursor === undefined ? withoutCursor : [...withoutCursor, [CURSOR_PARAMETER, cursor]]);
  const result: BundleLink[] = [{ relation: 'self', url: withQuery(url, input.pairs) }];
  result.push({ relation: 'first', url: at(undefined) });
  if (input.page.previous !== undefined) result.push({ relation: 'previous', url: at(input.page.previous) });
  if (input.page.next !== undefined) result.push({ relation: 'next', url: at(input.page.next) });
  return result;
}

function withQuery(path: string, query: [string, string][]): string {
  if (query.length === 0) return path;
  return `${path}?${new URLSearchParams(query).toString()}`;
}
