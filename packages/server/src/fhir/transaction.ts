/**
 * transaction and batch — http://hl7.org/fhir/R4/http.html#transaction.
 *
 * A transaction runs every entry in one store transaction: all succeed or nothing is written, and
 * the first failing entry's error is the answer. Entries run in the order the spec prescribes
 * (http.html#trules: DELETE, POST, PUT/PATCH, GET/HEAD). After the deletes, ids are decided up
 * front — for POST entries (or the resource an `If-None-Exist` matched) and conditional PUTs (the
 * resource their criteria match) — so that references to their fullUrls (`urn:uuid:…`) and
 * conditional references (`Patient?identifier=…`) are rewritten before anything is stored.
 * Deletes and updates of one class run in (type, id) order, so two transactions writing the same
 * resources lock them in the same order; a deadlock that still happens is retried
 * (transaction-retry.ts). A batch runs each entry on its own and reports each.
 */
import { randomUUID } from 'node:crypto';
import { FhirError, type FhirResource, fhirError, isRecord } from '@concordia/fhir';
import type { StoreTransaction } from '../store/port.ts';
import { type BundleEntryRequest, bundleEntryRequests, bundleType } from './bundle-entries.ts';
import { rewriteReferences } from './bundle-references.ts';
import { type EntryAnswer, errorResponse, responseBundle } from './bundle-response.ts';
import { findConditionalMatch, multipleMatches } from './conditional.ts';
import type { FhirRequest, FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { preferToken } from './prefer.ts';
import { criteriaQuery } from './query.ts';
import { withTransientRetry } from './transaction-retry.ts';
import { writeResponse } from './version-response.ts';

export type Dispatch = (request: FhirRequest, env: InteractionEnv) => Promise<FhirResponse>;

const PROCESSING_ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

export function bundleHandler(dispatch: Dispatch) {
  return async (request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> => {
    const type = bundleType(request.body);
    const parsed = bundleEntryRequests(request.body, env.fhirBase);
    // The importer's Bundles: each PUT entry, like the importer's own PUTs, keeps an unchanged
    // resource at its version (unchanged-content.ts).
    const entries = request.skipUnchanged === true ? parsed.map(skippingUnchanged) : parsed;
    const limit = env.config.maxBundleEntries;
    if (entries.length > limit) {
      throw fhirError(
        'too-large',
        'too-costly',
        `The Bundle has ${entries.length} entries; this server accepts at most ${limit} (CONCORDIA_MAX_BUNDLE_ENTRIES)`,
        ['Bundle.entry'],
      );
    }
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
  for (const entry of entries) refuseNestedBundle(entry);
  const answers = await withTransientRetry(() =>
    env.write(async (tx) => {
      const inner: InteractionEnv = { ...env, reads: tx, write: (work) => work(tx) };
      const results = new Map<number, FhirResponse>();
      const deletes = entries.filter((entry) => entry.request.method === 'DELETE');
      for (const entry of inProcessingOrder(deletes)) {
        results.set(entry.index, await runEntry(entry, inner, dispatch));
      }
      const others = entries.filter((entry) => entry.request.method !== 'DELETE');
      const prepared = await assignTargets(others, tx, inner);
      // One statement reads and locks what the PUT and PATCH entries write; their reads and writes
      // then cost no statement each, and the writes go out together (store/batched-writes.ts).
      await tx.lockForWrite(prepared.flatMap(writeTarget));
      for (const entry of inProcessingOrder(prepared)) {
        results.set(entry.index, entry.matched ?? (await runEntry(entry, inner, dispatch)));
      }
      return entries.map((entry): EntryAnswer => {
        const response = results.get(entry.index);
        if (response === undefined) throw new Error(`Bundle.entry[${entry.index}] was not processed`);
        return { method: entry.request.method, response };
      });
    }),
  );
  const json = responseBundle('transaction-response', answers, withResources);
  return { status: 200, interaction: 'transaction', body: { kind: 'resource', resource: json } };
}

/** http.html#trules order; within DELETE and PUT/PATCH by target, so writers lock rows alike. */
function inProcessingOrder<T extends BundleEntryRequest>(entries: readonly T[]): T[] {
  const rank = (entry: T) => PROCESSING_ORDER[entry.request.method] ?? 9;
  const byTarget = (entry: T) => (entry.request.method === 'POST' ? '' : entry.request.path);
  return [...entries].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (byTarget(a) < byTarget(b) ? -1 : byTarget(a) > byTarget(b) ? 1 : 0) ||
      a.index - b.index,
  );
}

function skippingUnchanged(entry: BundleEntryRequest): BundleEntryRequest {
  return entry.request.method === 'PUT'
    ? { ...entry, request: { ...entry.request, skipUnchanged: true } }
    : entry;
}

function writeTarget(entry: BundleEntryRequest): { resourceType: string; id: string }[] {
  if (entry.request.method !== 'PUT' && entry.request.method !== 'PATCH') return [];
  const [resourceType, id, ...rest] = entry.request.path.split('/');
  return resourceType !== undefined && id !== undefined && rest.length === 0 ? [{ resourceType, id }] : [];
}

function refuseNestedBundle(entry: BundleEntryRequest): void {
  if (entry.request.path === '' && entry.request.method === 'POST') {
    throw entryError(
      entry,
      fhirError('invalid', 'not-supported', 'A transaction entry cannot be another transaction'),
    );
  }
}

async function runBatch(
  entries: BundleEntryRequest[],
  env: InteractionEnv,
  dispatch: Dispatch,
  withResources: boolean,
): Promise<FhirResponse> {
  const answers: EntryAnswer[] = [];
  for (const entry of entries) {
    const { method } = entry.request;
    try {
      if (entry.request.path === '' && method === 'POST') {
        throw fhirError('invalid', 'not-supported', 'A batch entry cannot be another batch or transaction');
      }
      answers.push({ method, response: await dispatch(entry.request, env) });
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      answers.push({ method, response: errorResponse(error) });
    }
  }
  const json = responseBundle('batch-response', answers, withResources);
  return { status: 200, interaction: 'batch', body: { kind: 'resource', resource: json } };
}

interface PreparedEntry extends BundleEntryRequest {
  /** A conditional create that matched an existing resource: its answer, nothing to run. */
  matched?: FhirResponse;
}

/**
 * Decides the id every POST entry will get (or the existing resource a conditional create
 * matched) and the resource every conditional PUT writes, then rewrites references in all
 * entries to those ids.
 */
async function assignTargets(
  entries: BundleEntryRequest[],
  tx: StoreTransaction,
  env: InteractionEnv,
): Promise<PreparedEntry[]> {
  const targets = new Map<string, string>();
  const prepared: PreparedEntry[] = [];
  for (const original of entries) {
    const entry = await resolveConditionalUpdate(original, tx, env);
    const { request } = entry;
    const resourceType = request.path.split('/')[0] ?? '';
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

/**
 * A conditional update (`PUT Patient?identifier=…`, http.html#cond-update) becomes an update of
 * the one resource its criteria match, or of a new id when none does, so that other entries can
 * refer to its fullUrl. The criteria stay locked until the transaction ends (conditional.ts).
 */
async function resolveConditionalUpdate(
  entry: BundleEntryRequest,
  tx: StoreTransaction,
  env: InteractionEnv,
): Promise<BundleEntryRequest> {
  const { request } = entry;
  if (request.method !== 'PUT' || request.path.includes('/') || !isRecord(request.body)) return entry;
  const criteria = criteriaQuery(request.query);
  if (criteria.length === 0) return entry;
  try {
    const match = await findConditionalMatch(tx, env, request.path, criteria);
    if (match.kind === 'many') multipleMatches(request.path);
    const bodyId = typeof request.body.id === 'string' ? request.body.id : undefined;
    const id = match.kind === 'one' ? match.id : (bodyId ?? randomUUID());
    const body = { ...request.body, id: bodyId ?? id };
    return { ...entry, request: { ...request, path: `${request.path}/${id}`, query: [], body } };
  } catch (error) {
    throw error instanceof FhirError ? entryError(entry, error) : error;
  }
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

/** The references with a query (`Type?…`): only those can be conditional. */
function collectReferences(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const item of value) collectReferences(item, found);
  else if (isRecord(value)) {
    for (const key of Object.keys(value)) {
      const child = value[key];
      if (key === 'reference' && typeof child === 'string') {
        if (child.includes('?')) found.add(child);
      } else if (typeof child === 'object' && child !== null) collectReferences(child, found);
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
