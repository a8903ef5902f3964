/**
 * Reads the entries of a batch or transaction Bundle into requests the router can dispatch
 * (http://hl7.org/fhir/R4/http.html#transaction, bundle.html#transaction).
 */
import { fhirError, isRecord } from '@concordia/fhir';
import type { FhirMethod, FhirRequest } from './interaction.ts';

export interface BundleEntryRequest {
  index: number;
  fullUrl?: string;
  request: FhirRequest;
}

const METHODS: readonly FhirMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export function bundleType(body: unknown): 'transaction' | 'batch' {
  if (!isRecord(body) || body.resourceType !== 'Bundle') {
    throw fhirError(
      'invalid',
      'invalid',
      'POST to the FHIR base needs a Bundle of type transaction or batch',
    );
  }
  if (body.type !== 'transaction' && body.type !== 'batch') {
    throw fhirError(
      'invalid',
      'invalid',
      `Bundle.type must be transaction or batch, got ${String(body.type)}`,
      ['Bundle.type'],
    );
  }
  return body.type;
}

export function bundleEntryRequests(body: unknown, fhirBase: string): BundleEntryRequest[] {
  if (!isRecord(body)) return [];
  const entries = body.entry ?? [];
  if (!Array.isArray(entries))
    throw fhirError('invalid', 'structure', 'Bundle.entry must be an array', ['Bundle.entry']);
  return entries.map((entry: unknown, index) => entryRequest(entry, index, fhirBase));
}

function entryRequest(entry: unknown, index: number, fhirBase: string): BundleEntryRequest {
  const where = `Bundle.entry[${index}]`;
  if (!isRecord(entry)) throw fhirError('invalid', 'structure', `${where} must be an object`, [where]);
  const request = entry.request;
  if (!isRecord(request))
    throw fhirError('invalid', 'required', `${where}.request is required`, [`${where}.request`]);
  const method = METHODS.find((m) => m === request.method);
  if (method === undefined) {
    throw fhirError('invalid', 'value', `${where}.request.method must be one of ${METHODS.join(', ')}`, [
      `${where}.request.method`,
    ]);
  }
  if (typeof request.url !== 'string' || request.url === '') {
    throw fhirError('invalid', 'required', `${where}.request.url is required`, [`${where}.request.url`]);
  }
  const { path, query } = splitEntryUrl(request.url, fhirBase, where);
  const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
  return {
    index,
    ...(fullUrl !== undefined ? { fullUrl } : {}),
    request: {
      method,
      path,
      query,
      headers: {
        ...(typeof request.ifMatch === 'string' ? { ifMatch: request.ifMatch } : {}),
        ...(typeof request.ifNoneMatch === 'string' ? { ifNoneMatch: request.ifNoneMatch } : {}),
        ...(typeof request.ifModifiedSince === 'string' ? { ifModifiedSince: request.ifModifiedSince } : {}),
        ...(typeof request.ifNoneExist === 'string' ? { ifNoneExist: request.ifNoneExist } : {}),
        contentType: 'application/fhir+json',
      },
      ...(entry.resource !== undefined ? { body: entry.resource } : {}),
    },
  };
}

function splitEntryUrl(
  url: string,
  fhirBase: string,
  where: string,
): { path: string; query: [string, string][] } {
  let relative = url;
  if (/^https?:\/\//.test(url)) {
    if (!url.startsWith(`${fhirBase}/`)) {
      throw fhirError('invalid', 'not-supported', `${where}.request.url points to another server: ${url}`, [
        `${where}.request.url`,
      ]);
    }
    relative = url.slice(fhirBase.length + 1);
  }
  const questionMark = relative.indexOf('?');
  const path = (questionMark === -1 ? relative : relative.slice(0, questionMark)).replace(/^\/+|\/+$/g, '');
  const query = questionMark === -1 ? [] : [...new URLSearchParams(relative.slice(questionMark + 1))];
  return { path, query };
}
