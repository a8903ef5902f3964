/**
 * transaction and batch — http://hl7.org/fhir/R4/http.html#transaction.
 *
 * A transaction runs every entry in one store transaction: all succeed or nothing is written, and
 * the first failing entry's error is the answer. Entries run in the order the spec prescribes
 * (DELETE, POST, PUT/PATCH, GET/HEAD); ids for POST entries are assigned up front so that
 * references to their fullUrls (`urn:uuid:…`) and conditional references (`Patient?identifier=…`)
 * are rewritten before anything is stored. A batch runs each entry on its own and reports each.
 *
 * The transaction issue (#4) adds entry/size limits and concurrency tests; the shape stays.
 */
import { randomUUID } from 'node:crypto';
import { FhirError, type FhirResource, fhirError, isRecord } from '@concordia/fhir';
import type { StoreTransaction } from '../store/port.ts';
import { type BundleEntryRequest, bundleEntryRequests, bundleType } from './bundle-entries.ts';
import { rewriteReferences } from './bundle-references.ts';
import { findConditionalMatch, multipleMatches } from './conditional.ts';
import type { FhirRequest, FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { preferToken } from './prefer.ts';
import { writeResponse } from './version-response.ts';

export type Dispatch = (request: FhirRequest, env: InteractionEnv) => Promise<FhirResponse>;

const PROCESSING_ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

export function bundleHandler(dispatch: Dispatch) {
  return async (request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> => {
    const type = bundleType(request.body);
    const entries = bundleEntryRequests(request.body, env.fhirBase);
    const withResources = preferToken(request.headers.prefer, 'return') === 'representation';
    if (type === 'batch') return runBatch(entries, env, dispatch, withResources);
    return runTransaction(entries, env, dispatch, withResources);
  };
}

async function runTransaction(
  entries: BundleEntryRequest[],
  env: InteractionEnv,
  dispatch: Dispatch,
  withResources: boolean,
): Promise<FhirResponse> {
  const responses = await env.write(async (tx) => {
    const inner: InteractionEnv = { ...env, reads: tx, write: (work) => work(tx) };
    const prepared = await assignTargets(entries, tx, inner);
    const ordered = [...prepared].sort(
      (a, b) =>
        (PROCESSING_ORDER[a.request.method] ?? 9) - (PROCESSING_ORDER[b.request.method] ?? 9) ||
        a.index - b.index,
    );
    const results = new Map<number, FhirResponse>();
    for (const entry of ordered) {
      results.set(entry.index, entry.matched ?? (await runEntry(entry, inner, dispatch)));
    }
    return prepared.map((entry) => results.get(entry.index));
  });
  const json = responseBundle('transaction-response', responses, withResources);
  return { status: 200, interaction: 'transaction', body: { kind: 'resource', resource: json } };
}

async function runBatch(
  entries: BundleEntryRequest[],
  env: InteractionEnv,
  dispatch: Dispatch,
  withResources: boolean,
): Promise<FhirResponse> {
  const responses: FhirResponse[] = [];
  for (const entry of entries) {
    try {
      if (entry.request.path === '' && entry.request.method === 'POST') {
        throw fhirError('invalid', 'not-supported', 'A batch entry cannot be another batch or transaction');
      }
      responses.push(await dispatch(entry.request, env));
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      responses.push(errorResponse(error));
    }
  }
  const json = responseBundle('batch-response', responses, withResources);
  return { status: 200, interaction: 'batch', body: { kind: 'resource', resource: json } };
}

interface PreparedEntry extends BundleEntryRequest {
  /** A conditional create that matched an existing resource: its answer, nothing to run. */
  matched?: FhirResponse;
}

/**
 * Decides the id every POST entry will get (or the existing resource a conditional create
 * matched), then rewrites references in all entries to those ids.
 */
async function assignTargets(
  entries: BundleEntryRequest[],
  tx: StoreTransaction,
  env: InteractionEnv,
): Promise<PreparedEntry[]> {
  const targets = new Map<string, string>();
  const prepared: PreparedEntry[] = [];
  for (const entry of entries) {
    const { request } = entry;
    const resourceType = request.path.split('/')[0] ?? '';
    if (request.path === '' && request.method === 'POST') {
      throw entryError(
        entry,
        fhirError('invalid', 'not-supported', 'A transaction entry cannot be another transaction'),
      );
    }
    if (request.method === 'POST' && !request.path.includes('/')) {
      const existing =
        request.headers.ifNoneExist === undefined
          ? undefined
          : await conditionalCreateMatch(tx, env, resourceType, request.headers.ifNoneExist, entry);
      const id = existing ?? randomUUID();
      if (entry.fullUrl !== undefined) targets.set(entry.fullUrl, `${resourceType}/${id}`);
      const { ifNoneExist: _resolved, ...headers } = request.headers;
      const matched = existing === undefined ? undefined : await tx.read(env.ctx, resourceType, existing);
      prepared.push({
        ...entry,
        request: { ...request, headers, assignedId: id },
        ...(matched !== undefined
          ? {
              matched: writeResponse(
                matched,
                200,
                'create',
                env.fhirBase,
                'minimal',
                'Matched an existing resource',
              ),
            }
          : {}),
      });
      continue;
    }
    if ((request.method === 'PUT' || request.method === 'PATCH') && entry.fullUrl !== undefined) {
      const [type, id] = request.path.split('/');
      if (type !== undefined && id !== undefined) targets.set(entry.fullUrl, `${type}/${id}`);
    }
    prepared.push(entry);
  }
  for (const entry of prepared) {
    const body = entry.request.body;
    if (isRecord(body) && typeof body.resourceType === 'string') {
      const resource: FhirResource = { ...body, resourceType: body.resourceType };
      const resolved = await resolveConditionalReferences(resource, tx, env, targets, entry.index);
      entry.request = {
        ...entry.request,
        body: rewriteReferences(resolved, targets, `Bundle.entry[${entry.index}].resource`),
      };
    }
  }
  return prepared;
}

async function conditionalCreateMatch(
  tx: StoreTransaction,
  env: InteractionEnv,
  resourceType: string,
  ifNoneExist: string,
  entry: BundleEntryRequest,
): Promise<string | undefined> {
  try {
    const query = ifNoneExist.replace(new RegExp(`^${resourceType}\\?`), '').replace(/^\?/, '');
    const match = await findConditionalMatch(tx, env, resourceType, query);
    if (match.kind === 'many') multipleMatches(resourceType);
    return match.kind === 'one' ? match.id : undefined;
  } catch (error) {
    throw error instanceof FhirError ? entryError(entry, error) : error;
  }
}

/** Conditional references (`Patient?identifier=…`) must match exactly one resource (http.html#trules). */
async function resolveConditionalReferences(
  resource: FhirResource,
  tx: StoreTransaction,
  env: InteractionEnv,
  targets: Map<string, string>,
  index: number,
): Promise<FhirResource> {
  for (const reference of collectReferences(resource)) {
    const match = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(reference);
    if (match === null || targets.has(reference)) continue;
    const [, type = '', query = ''] = match;
    const found = await findConditionalMatch(tx, env, type, query);
    if (found.kind !== 'one') {
      throw fhirError(
        'precondition-failed',
        found.kind === 'none' ? 'not-found' : 'multiple-matches',
        `Bundle.entry[${index}]: the conditional reference ${reference} matches ${found.kind === 'none' ? 'no' : 'more than one'} resource`,
        [`Bundle.entry[${index}].resource`],
      );
    }
    targets.set(reference, `${type}/${found.id}`);
  }
  return resource;
}

function collectReferences(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const item of value) collectReferences(item, found);
  else if (isRecord(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string') found.add(child);
      else collectReferences(child, found);
    }
  }
  return found;
}

async function runEntry(
  entry: BundleEntryRequest,
  env: InteractionEnv,
  dispatch: Dispatch,
): Promise<FhirResponse> {
  try {
    return await dispatch(entry.request, env);
  } catch (error) {
    throw error instanceof FhirError ? entryError(entry, error) : error;
  }
}

function entryError(entry: BundleEntryRequest, error: FhirError): FhirError {
  const where = `Bundle.entry[${entry.index}]`;
  return new FhirError(
    error.kind,
    error.issues.map((issue) => ({
      ...issue,
      diagnostics: `${where} (${entry.request.method} ${entry.request.path}): ${issue.diagnostics ?? issue.code}`,
      expression: issue.expression?.map((e) => (e.startsWith('Bundle.') ? e : `${where}.resource.${e}`)) ?? [
        where,
      ],
    })),
  );
}

function errorResponse(error: FhirError): FhirResponse {
  return {
    status: error.status,
    interaction: 'batch',
    body: { kind: 'resource', resource: error.toOperationOutcome() },
  };
}

function responseBundle(
  type: 'transaction-response' | 'batch-response',
  responses: (FhirResponse | undefined)[],
  withResources: boolean,
): FhirResource {
  return {
    resourceType: 'Bundle',
    type,
    entry: responses.map((response) =>
      response === undefined ? {} : responseEntry(response, withResources),
    ),
  };
}

function responseEntry(response: FhirResponse, withResources: boolean): Record<string, unknown> {
  const entryResponse: Record<string, unknown> = { status: statusLine(response.status) };
  const { headers, body } = response;
  if (headers?.location !== undefined) entryResponse.location = headers.location;
  if (headers?.etag !== undefined) entryResponse.etag = headers.etag;
  if (headers?.lastModified !== undefined)
    entryResponse.lastModified = new Date(headers.lastModified).toISOString();
  const resource =
    body === undefined ? undefined : body.kind === 'resource' ? body.resource : JSON.parse(body.json);
  if (isRecord(resource) && resource.resourceType === 'OperationOutcome' && response.status >= 400) {
    entryResponse.outcome = resource;
    return { response: entryResponse };
  }
  return withResources && resource !== undefined
    ? { resource, response: entryResponse }
    : { response: entryResponse };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  422: 'Unprocessable Entity',
};

function statusLine(status: number): string {
  const reason = REASONS[status];
  return reason === undefined ? String(status) : `${status} ${reason}`;
}
