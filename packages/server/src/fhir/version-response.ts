/**
 * The answer to a read or a write of one version: status, ETag, Last-Modified, Location and a
 * body chosen by `Prefer: return=` (http://hl7.org/fhir/R4/http.html#ops).
 */
import { type FhirResource, fhirError, informationOutcome, isRecord } from '@concordia/fhir';
import type { StoredVersion } from '../store/port.ts';
import type { FhirResponse, InteractionName } from './interaction.ts';
import type { ReturnPreference } from './prefer.ts';
import { etagOf, httpDate } from './versioning.ts';

export function versionUrl(fhirBase: string, version: StoredVersion): string {
  return `${fhirBase}/${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

export function versionHeaders(version: StoredVersion) {
  return { etag: etagOf(version.versionId), lastModified: httpDate(version.lastUpdated) };
}

/** A successful read: the stored JSON goes out as stored, without parsing it. */
export function readResponse(version: StoredVersion, interaction: InteractionName): FhirResponse {
  if (version.json === undefined) {
    throw fhirError('gone', 'deleted', `${version.resourceType}/${version.id} has been deleted`);
  }
  return {
    status: 200,
    interaction,
    body: { kind: 'json', json: version.json },
    headers: versionHeaders(version),
  };
}

export function writeResponse(
  version: StoredVersion,
  status: number,
  interaction: InteractionName,
  fhirBase: string,
  preference: ReturnPreference | undefined,
  message: string,
): FhirResponse {
  const headers = { ...versionHeaders(version), location: versionUrl(fhirBase, version) };
  if (preference === 'minimal') return { status, interaction, headers };
  if (preference === 'OperationOutcome') {
    return {
      status,
      interaction,
      headers,
      body: { kind: 'resource', resource: informationOutcome(message) },
    };
  }
  if (version.json === undefined) return { status, interaction, headers };
  return { status, interaction, headers, body: { kind: 'json', json: version.json } };
}

/** Stored JSON was written by the store from a validated resource; a failure here is corruption. */
export function parseStoredJson(json: string): FhirResource {
  const value: unknown = JSON.parse(json);
  if (!isRecord(value) || typeof value.resourceType !== 'string') {
    throw fhirError('internal', 'exception', 'A stored resource is not a FHIR resource');
  }
  return { ...value, resourceType: value.resourceType };
}
