/**
 * The `transaction-response` / `batch-response` Bundle (http://hl7.org/fhir/R4/http.html#transaction-response,
 * bundle.html#Bundle.entry.response): one entry per request entry, in the request's order, each
 * with `response.status`, and where they apply `location`, `etag`, `lastModified` and, for a
 * failure, `outcome`.
 */
import { type FhirError, type FhirResource, isRecord } from '@concordia/fhir';
import type { FhirMethod, FhirResponse } from './interaction.ts';

export interface EntryAnswer {
  /** The method of the request entry: a read's answer is its resource, whatever `Prefer` says. */
  method: FhirMethod;
  response: FhirResponse;
}

export function errorResponse(error: FhirError): FhirResponse {
  return {
    status: error.status,
    interaction: 'batch',
    body: { kind: 'resource', resource: error.toOperationOutcome() },
  };
}

/**
 * `withResources` (`Prefer: return=representation`) adds the written resources; GET entries carry
 * the resource or search Bundle they read in any case, since that is their whole answer.
 */
export function responseBundle(
  type: 'transaction-response' | 'batch-response',
  answers: readonly EntryAnswer[],
  withResources: boolean,
): FhirResource {
  return {
    resourceType: 'Bundle',
    type,
    entry: answers.map((answer) => responseEntry(answer.response, withResources || answer.method === 'GET')),
  };
}

function responseEntry(response: FhirResponse, withResource: boolean): Record<string, unknown> {
  const entryResponse: Record<string, unknown> = { status: statusLine(response.status) };
  const { headers, body } = response;
  if (headers?.location !== undefined) entryResponse.location = headers.location;
  if (headers?.etag !== undefined) entryResponse.etag = headers.etag;
  if (headers?.lastModified !== undefined)
    entryResponse.lastModified = new Date(headers.lastModified).toISOString();
  // A successful write's stored JSON is parsed only when the entry carries it: a Synthea Bundle's
  // creates answered `return=minimal` would otherwise parse every resource back for nothing.
  const needed = withResource || response.status >= 400;
  const resource =
    body === undefined || !needed
      ? undefined
      : body.kind === 'resource'
        ? body.resource
        : JSON.parse(body.json);
  if (isRecord(resource) && resource.resourceType === 'OperationOutcome' && response.status >= 400) {
    entryResponse.outcome = resource;
    return { response: entryResponse };
  }
  return withResource && resource !== undefined
    ? { resource, response: entryResponse }
    : { response: entryResponse };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  501: 'Not Implemented',
};

function statusLine(status: number): string {
  const reason = REASONS[status];
  return reason === undefined ? String(status) : `${status} ${reason}`;
}
