/**
 * A Bulk Data client over `app.inject`, the way a client drives export.html: kick-off, poll the
 * status URL (bounded; never a timing assertion), read the manifest, download every file.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

export const BASE = 'http://fhir.test';

export const KICK_OFF_HEADERS = { accept: 'application/fhir+json', prefer: 'respond-async' };

export function exportDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'concordia-exports-'));
}

/** The path of an absolute URL on the test server. */
export function local(url: string): string {
  expect(url.startsWith(BASE)).toBe(true);
  return url.slice(BASE.length);
}

export async function kickOff(
  app: FastifyInstance,
  url: string,
  options: { headers?: Record<string, string>; payload?: unknown; authorization?: string } = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: options.payload === undefined ? 'GET' : 'POST',
    url,
    headers: {
      ...KICK_OFF_HEADERS,
      ...(options.payload === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
      ...options.headers,
    },
    ...(options.payload === undefined ? {} : { payload: JSON.stringify(options.payload) }),
  });
}

export interface ManifestEntry {
  type: string;
  url: string;
  count: number;
}

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: ManifestEntry[];
  error: ManifestEntry[];
}

/** Polls until the export completes (200) and returns its manifest; every 202 must say how far it got. */
export async function awaitManifest(
  app: FastifyInstance,
  statusUrl: string,
  authorization?: string,
): Promise<Manifest> {
  const headers = authorization === undefined ? {} : { authorization };
  for (let attempt = 0; attempt < 1000; attempt++) {
    const status = await app.inject({ method: 'GET', url: local(statusUrl), headers });
    if (status.statusCode === 200) {
      expect(status.headers['content-type']).toMatch(/^application\/json/);
      expect(status.headers.expires).toBeDefined();
      return JSON.parse(status.body);
    }
    expect(status.statusCode, status.body).toBe(202);
    expect(String(status.headers['x-progress'])).toMatch(/^(queued|\d+%)/);
    expect(status.headers['retry-after']).toBe('2');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`export at ${statusUrl} did not complete`);
}

/** Downloads every output file; returns the parsed lines by type, and the raw lines. */
export async function download(
  app: FastifyInstance,
  entries: readonly ManifestEntry[],
  authorization?: string,
): Promise<{ byType: Map<string, Record<string, unknown>[]>; lines: string[] }> {
  const byType = new Map<string, Record<string, unknown>[]>();
  const lines: string[] = [];
  for (const entry of entries) {
    const response = await app.inject({
      method: 'GET',
      url: local(entry.url),
      headers: { accept: 'application/fhir+ndjson', ...(authorization ? { authorization } : {}) },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('application/fhir+ndjson');
    const fileLines = response.body.split('\n');
    expect(fileLines.pop()).toBe('');
    expect(fileLines).toHaveLength(entry.count);
    const parsed = fileLines.map((line) => JSON.parse(line));
    for (const resource of parsed) expect(resource.resourceType).toBe(entry.type);
    byType.set(entry.type, [...(byType.get(entry.type) ?? []), ...parsed]);
    lines.push(...fileLines);
  }
  return { byType, lines };
}

export function ids(resources: readonly Record<string, unknown>[] | undefined): string[] {
  return (resources ?? []).map((resource) => String(resource.id)).sort();
}
