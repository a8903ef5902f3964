/**
 * history — http://hl7.org/fhir/R4/http.html#history at instance, type and system level.
 * Newest first; `_since` (versions changed at or after), `_at` (versions current at that instant),
 * `_count`; paging by an opaque cursor (`_cursor`) that stays correct while new versions arrive.
 */
import { fhirError } from '@concordia/fhir';
import type { HistoryQuery, StoredVersion } from '../store/port.ts';
import { type BundleLink, bundleJson, type RawBundleEntry } from './bundle-json.ts';
import type { FhirResponse, InteractionName } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { queryValue } from './query.ts';
import { etagOf } from './versioning.ts';

const CURSOR_PARAMETER = '_cursor';

export async function history(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const interaction: InteractionName =
    request.id !== undefined
      ? 'history-instance'
      : request.resourceType !== undefined
        ? 'history-type'
        : 'history-system';
  const query = historyQuery(request, env);
  const page = await env.store.history(env.ctx, query);
  if (interaction === 'history-instance' && page.versions.length === 0 && query.cursor === undefined) {
    const current = await env.reads.read(env.ctx, request.resourceType ?? '', request.id ?? '');
    if (current === undefined) {
      throw fhirError('not-found', 'not-found', `${request.resourceType}/${request.id} is not known`);
    }
  }
  const json = bundleJson(
    {
      type: 'history',
      ...(page.total !== undefined ? { total: page.total } : {}),
      link: pageLinks(request, env, page.next),
    },
    page.versions.map((version) => historyEntry(version, env.fhirBase)),
  );
  return { status: 200, interaction, body: { kind: 'json', json } };
}

function historyQuery(request: RoutedRequest, env: InteractionEnv): HistoryQuery {
  const since = instantParameter(request, '_since');
  const at = instantParameter(request, '_at');
  const cursor = queryValue(request.query, CURSOR_PARAMETER);
  return {
    ...(request.resourceType !== undefined ? { resourceType: request.resourceType } : {}),
    ...(request.id !== undefined ? { id: request.id } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(at !== undefined ? { at } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
    count: pageSize(request, env),
  };
}

export function pageSize(request: RoutedRequest, env: InteractionEnv): number {
  const raw = queryValue(request.query, '_count');
  if (raw === undefined) return env.config.defaultPageSize;
  const count = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(count)) {
    throw fhirError('invalid', 'invalid', `_count must be a non-negative integer, got "${raw}"`);
  }
  return Math.min(count, env.config.maxPageSize);
}

/** `_since` is an instant and `_at` a dateTime (http.html#history); both are compared as instants. */
function instantParameter(request: RoutedRequest, name: '_since' | '_at'): string | undefined {
  const raw = queryValue(request.query, name);
  if (raw === undefined) return undefined;
  const valid = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/.test(raw);
  const millis = Date.parse(raw.length === 4 ? `${raw}-01-01` : raw.length === 7 ? `${raw}-01` : raw);
  if (!valid || Number.isNaN(millis)) {
    throw fhirError(
      'invalid',
      'invalid',
      `${name} must be a FHIR instant such as 2026-01-31T12:00:00Z, got "${raw}"`,
    );
  }
  return new Date(millis).toISOString();
}

function pageLinks(request: RoutedRequest, env: InteractionEnv, next: string | undefined): BundleLink[] {
  const path = `${env.fhirBase}/${request.path}`;
  const links: BundleLink[] = [{ relation: 'self', url: withQuery(path, request.query) }];
  if (next !== undefined) {
    const nextQuery = request.query.filter(([name]) => name !== CURSOR_PARAMETER);
    nextQuery.push([CURSOR_PARAMETER, next]);
    links.push({ relation: 'next', url: withQuery(path, nextQuery) });
  }
  return links;
}

function withQuery(path: string, query: [string, string][]): string {
  if (query.length === 0) return path;
  return `${path}?${new URLSearchParams(query).toString()}`;
}

function historyEntry(version: StoredVersion, fhirBase: string): RawBundleEntry {
  const instancePath = `${version.resourceType}/${version.id}`;
  return {
    fullUrl: `${fhirBase}/${instancePath}`,
    ...(version.json !== undefined ? { resourceJson: version.json } : {}),
    rest: {
      request: {
        method: version.method,
        url: version.method === 'POST' ? version.resourceType : instancePath,
      },
      response: {
        status: version.deleted ? '204 No Content' : version.versionId === 1 ? '201 Created' : '200 OK',
        etag: etagOf(version.versionId),
        lastModified: version.lastUpdated,
      },
    },
  };
}
