/** Helpers for the search tests: create over HTTP, search over HTTP, read a searchset. */
import type { FhirResource } from '@concordia/fhir';
import { expect } from 'vitest';
import { at, FHIR_JSON, json, type TestApp } from '../support/test-app.ts';

export async function createResource(t: TestApp, resource: FhirResource): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: `/fhir/${resource.resourceType}`,
    headers: FHIR_JSON,
    payload: resource,
  });
  expect(response.statusCode).toBe(201);
  return String(json(response.body).id);
}

export async function searchBundle(
  t: TestApp,
  url: string,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await t.app.inject({ method: 'GET', url, headers });
  expect(response.statusCode, response.body).toBe(200);
  const bundle = json(response.body);
  expect(bundle.type).toBe('searchset');
  return bundle;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function entries(bundle: Record<string, unknown>): unknown[] {
  return list(bundle.entry);
}

/** `Type/id` of the entries with `search.mode` = `mode`, in Bundle order. */
export function idsWithMode(bundle: Record<string, unknown>, mode: string): string[] {
  return entries(bundle)
    .filter((entry) => at(entry, 'search', 'mode') === mode)
    .map(
      (entry) => `${String(at(entry, 'resource', 'resourceType'))}/${String(at(entry, 'resource', 'id'))}`,
    );
}

export function matchIds(bundle: Record<string, unknown>): string[] {
  return idsWithMode(bundle, 'match').map((reference) => reference.split('/')[1] ?? '');
}

export function outcomeIssues(bundle: Record<string, unknown>): unknown[] {
  const outcome = entries(bundle).find((entry) => at(entry, 'search', 'mode') === 'outcome');
  const issues = at(outcome, 'resource', 'issue');
  return Array.isArray(issues) ? issues : [];
}

/** The URL of link `relation`, relative to the server, for the next inject. */
export function linkPath(bundle: Record<string, unknown>, relation: string): string | undefined {
  const links = Array.isArray(bundle.link) ? bundle.link : [];
  const link = links.find((candidate) => at(candidate, 'relation') === relation);
  const url = at(link, 'url');
  return typeof url === 'string' ? url.replace('http://fhir.test', '') : undefined;
}

/** A name unique to one test, so tests sharing a database never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 10)}`;
}
