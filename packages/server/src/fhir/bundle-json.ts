/**
 * Builds Bundle JSON around resources that are already serialised, so that history (and later
 * search and $everything) send stored bytes without parsing and re-serialising every resource.
 */
import type { FhirResource } from '@concordia/fhir';

export interface BundleLink {
  relation: string;
  url: string;
}

export interface RawBundleEntry {
  fullUrl?: string;
  /** Serialised resource, embedded verbatim. */
  resourceJson?: string;
  /** Other entry elements (search, request, response), serialised normally. */
  rest?: Record<string, unknown>;
}

export function bundleJson(
  head: { type: string; total?: number; link: BundleLink[]; timestamp?: string },
  entries: RawBundleEntry[],
  issues?: FhirResource,
): string {
  const meta: Record<string, unknown> = { resourceType: 'Bundle', type: head.type };
  if (head.timestamp !== undefined) meta.timestamp = head.timestamp;
  if (head.total !== undefined) meta.total = head.total;
  if (head.link.length > 0) meta.link = head.link;
  const opening = JSON.stringify(meta).slice(0, -1);
  const parts = entries.map(entryJson);
  if (issues !== undefined) parts.push(JSON.stringify({ resource: issues, search: { mode: 'outcome' } }));
  return parts.length === 0 ? `${opening}}` : `${opening},"entry":[${parts.join(',')}]}`;
}

function entryJson(entry: RawBundleEntry): string {
  const fields: string[] = [];
  if (entry.fullUrl !== undefined) fields.push(`"fullUrl":${JSON.stringify(entry.fullUrl)}`);
  if (entry.resourceJson !== undefined) fields.push(`"resource":${entry.resourceJson}`);
  for (const [key, value] of Object.entries(entry.rest ?? {})) {
    fields.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  return `{${fields.join(',')}}`;
}
