/**
 * One differential query through the real REST search (every page, `_count=1000`, strict
 * handling so that an ignored parameter fails instead of widening the result, `_total=accurate`
 * so that the count is checked against the pages), its reference answer, and a report that says
 * what differs and why it might.
 */
import type { FhirResource } from '@concordia/fhir';
import type { ReferenceSearch } from '../../support/reference-search/evaluate.ts';
import { json, type TestApp } from '../../support/test-app.ts';
import { linkPath, matchIds } from '../search-helpers.ts';
import type { DifferentialQuery } from './queries.ts';

export interface Comparison {
  /** How many resources the reference finds: most queries should find some, some none. */
  expected: number;
  mismatch?: { query: string; report: string };
}

export function queryPath(query: DifferentialQuery): string {
  return `/fhir/${query.resourceType}?${new URLSearchParams([...query.pairs, ['_count', '1000'], ['_total', 'accurate']]).toString()}`;
}

/** The ids the server finds, or its error response when it refuses the query. */
export async function serverIds(t: TestApp, query: DifferentialQuery): Promise<string[] | { error: string }> {
  const ids: string[] = [];
  let total: unknown;
  let path: string | undefined = queryPath(query);
  for (let page = 0; path !== undefined; page++) {
    if (page > 50) return { error: 'more than 50 pages: paging does not end' };
    const response = await t.app.inject({ method: 'GET', url: path, headers: { prefer: 'handling=strict' } });
    if (response.statusCode !== 200)
      return { error: `${response.statusCode} ${response.body.slice(0, 600)}` };
    const bundle = json(response.body);
    if (page === 0) total = bundle.total;
    ids.push(...matchIds(bundle));
    path = linkPath(bundle, 'next');
  }
  // The count is its own statement (store/search/search-statement.ts): it must agree with the pages.
  if (total !== ids.length)
    return { error: `_total=accurate gave ${String(total)}, the pages ${ids.length}` };
  return ids.sort();
}

/** Runs `query` on the server and the reference; a mismatch when they find different ids. */
export async function compare(
  t: TestApp,
  reference: ReferenceSearch,
  query: DifferentialQuery,
): Promise<Comparison> {
  const now = Date.now();
  const actual = await serverIds(t, query);
  const expected = reference.ids(query.resourceType, query.pairs, { now });
  const written = `${query.resourceType}?${query.pairs.map(([name, value]) => `${name}=${value}`).join('&')}`;
  if (!Array.isArray(actual)) {
    const report = `${written}\n  server error: ${actual.error}`;
    return { expected: expected.length, mismatch: { query: written, report } };
  }
  const found = new Set(actual);
  const wanted = new Set(expected);
  const missing = expected.filter((id) => !found.has(id));
  const extra = actual.filter((id) => !wanted.has(id));
  if (missing.length === 0 && extra.length === 0) return { expected: expected.length };
  const lines = [
    `${written}`,
    `  server ${actual.length}, reference ${expected.length}`,
    `  missing (reference only): ${missing.slice(0, 5).join(' ')}${missing.length > 5 ? ` …${missing.length - 5} more` : ''}`,
    `  extra (server only): ${extra.slice(0, 5).join(' ')}${extra.length > 5 ? ` …${extra.length - 5} more` : ''}`,
  ];
  for (const id of [...missing.slice(0, 2), ...extra.slice(0, 2)]) {
    const resource = reference.dataset.get(query.resourceType, id);
    if (resource !== undefined)
      lines.push(`  ${query.resourceType}/${id}: ${snippet(reference, resource, query)}`);
  }
  return { expected: expected.length, mismatch: { query: written, report: lines.join('\n') } };
}

/** The values each queried parameter selects from `resource` (the reference's view), shortened. */
function snippet(reference: ReferenceSearch, resource: FhirResource, query: DifferentialQuery): string {
  const parts = query.pairs.map(([name]) => {
    const code = (name.startsWith('_has:') ? '_id' : name.split(/[:.]/)[0]) ?? '';
    const definition = reference.registry.get(resource.resourceType, code);
    const values = definition === undefined ? [] : reference.selector.select(resource, definition);
    return `${code} = ${JSON.stringify(values.map((value) => value.data))}`;
  });
  const text = parts.join('; ');
  return text.length > 700 ? `${text.slice(0, 700)}…` : text;
}
