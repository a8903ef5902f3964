/**
 * read — http://hl7.org/fhir/R4/http.html#read
 * 404 for an id that never existed, 410 for a deleted one; conditional read with If-None-Match /
 * If-Modified-Since answers 304 (http.html#cread).
 */
import { fhirError } from '@concordia/fhir';
import { rawBinaryResponse, wantsRawBinary } from './binary-raw.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { shapeRead } from './result-shaping.ts';
import { readResponse, versionHeaders } from './version-response.ts';
import { ifNoneMatchHits, notModifiedSince } from './versioning.ts';

export async function read(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const { resourceType, id } = requireInstance(request);
  const current = await env.reads.read(env.ctx, resourceType, id);
  if (current === undefined) throw fhirError('not-found', 'not-found', `${resourceType}/${id} is not known`);
  if (!current.deleted) {
    const { ifNoneMatch, ifModifiedSince } = request.headers;
    const unchanged =
      (ifNoneMatch !== undefined && ifNoneMatchHits(ifNoneMatch, current.versionId)) ||
      (ifNoneMatch === undefined &&
        ifModifiedSince !== undefined &&
        notModifiedSince(ifModifiedSince, current.lastUpdated));
    if (unchanged) return { status: 304, interaction: 'read', headers: versionHeaders(current) };
  }
  const raw = wantsRawBinary(request) ? rawBinaryResponse(current) : undefined;
  return raw ?? shapeRead(readResponse(current, 'read'), request.query);
}

export function requireInstance(request: RoutedRequest): { resourceType: string; id: string } {
  const { resourceType, id } = request;
  if (resourceType === undefined || id === undefined) {
    throw fhirError(
      'internal',
      'exception',
      'Route without resource type and id reached an instance handler',
    );
  }
  return { resourceType, id };
}
