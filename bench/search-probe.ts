/**
 * One request per search scenario before it is measured, read in full: the load generator only
 * counts status codes, and a 200 searchset whose OperationOutcome says a parameter was ignored
 * (lenient handling, search.html#errors) is fast because it did not search. The probe shows how
 * many matches the query had and any such issue, so the verdict can refuse to call it MET.
 */
import { isJsonObject, objectsAt, stringAt } from './json-value.ts';

export interface SearchProbe {
  path: string;
  status: number;
  /** Entries with search.mode `match`, and `include` (from _include/_revinclude). */
  matches: number;
  included: number;
  /** Bundle.total when the server gave one. */
  total: number | undefined;
  /** Diagnostics of OperationOutcome issues in the answer (ignored or unsupported parameters). */
  issues: string[];
}

export async function probeSearch(baseUrl: string, path: string): Promise<SearchProbe> {
  const response = await fetch(`${baseUrl}${path}`, { headers: { accept: 'application/fhir+json' } });
  const body: unknown = await response.json().catch(() => undefined);
  const probe: SearchProbe = {
    path,
    status: response.status,
    matches: 0,
    included: 0,
    total: undefined,
    issues: [],
  };
  if (!isJsonObject(body)) return probe;
  if (body.resourceType === 'OperationOutcome') return { ...probe, issues: outcomeIssues(body) };
  probe.total = typeof body.total === 'number' ? body.total : undefined;
  for (const entry of objectsAt(body, 'entry')) {
    const mode = objectsAt(entry, 'search').map((search) => stringAt(search, 'mode'))[0];
    const resource = entry.resource;
    if (mode === 'include') probe.included += 1;
    else if (mode === 'outcome' && isJsonObject(resource)) probe.issues.push(...outcomeIssues(resource));
    else probe.matches += 1;
  }
  return probe;
}

export function describeProbe(probe: SearchProbe): string {
  const total = probe.total === undefined ? '' : `, total ${probe.total}`;
  const issues = probe.issues.length === 0 ? '' : `; issues: ${probe.issues.join(' | ')}`;
  return `${probe.status}, ${probe.matches} matches, ${probe.included} included${total}${issues}`;
}

/** Warnings and errors only: an informational note does not mean the query was changed. */
function outcomeIssues(outcome: Record<string, unknown>): string[] {
  return objectsAt(outcome, 'issue')
    .filter((issue) => stringAt(issue, 'severity') !== 'information')
    .map(
      (issue) =>
        `${stringAt(issue, 'severity') ?? '?'}: ${stringAt(issue, 'diagnostics') ?? stringAt(issue, 'code') ?? ''}`,
    );
}
