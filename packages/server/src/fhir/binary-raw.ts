/**
 * Binary content as itself (http://hl7.org/fhir/R4/http.html#binary): a read of a Binary that
 * does not ask for a FHIR format gets the bytes, with the Binary's `contentType` as the media
 * type. Asking for FHIR JSON (`Accept: application/fhir+json`, `_format=json`) or sending no
 * `Accept` at all gets the Binary resource.
 */
import { Readable } from 'node:stream';
import { isRecord } from '@concordia/fhir';
import type { StoredVersion } from '../store/port.ts';
import type { FhirResponse } from './interaction.ts';
import type { RoutedRequest } from './interaction-env.ts';
import { versionHeaders } from './version-response.ts';

const FHIR_TYPES = [
  'application/fhir+json',
  'application/json+fhir',
  'application/json',
  'text/json',
  'application/fhir+xml',
  'application/xml+fhir',
];

export function wantsRawBinary(request: RoutedRequest): boolean {
  if (request.resourceType !== 'Binary') return false;
  if (request.query.some(([name]) => name === '_format')) return false;
  const accept = request.headers.accept?.trim();
  if (accept === undefined || accept === '') return false;
  const ranges = accept.split(',').map((range) => range.split(';')[0]?.trim().toLowerCase() ?? '');
  return !ranges.some((range) => FHIR_TYPES.includes(range));
}

/** The bytes of a stored Binary, or `undefined` when it is deleted or holds no data. */
export function rawBinaryResponse(version: StoredVersion): FhirResponse | undefined {
  const binary: unknown = version.json === undefined ? undefined : JSON.parse(version.json);
  if (!isRecord(binary) || typeof binary.data !== 'string') return undefined;
  const contentType =
    typeof binary.contentType === 'string' ? binary.contentType : 'application/octet-stream';
  return {
    status: 200,
    interaction: 'read',
    stream: { contentType, stream: Readable.from([Buffer.from(binary.data, 'base64')]) },
    headers: versionHeaders(version),
  };
}
