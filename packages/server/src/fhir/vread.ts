/**
 * vread — http://hl7.org/fhir/R4/http.html#vread
 * A version that records a deletion answers 410 Gone.
 */
import { fhirError } from '@concordia/fhir';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { requireInstance } from './read.ts';
import { shapeRead } from './result-shaping.ts';
import { readResponse } from './version-response.ts';

export async function vread(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const { resourceType, id } = requireInstance(request);
  const versionId = request.versionId;
  if (versionId === undefined) throw fhirError('internal', 'exception', 'vread routed without a version id');
  const version = await env.reads.readVersion(env.ctx, resourceType, id, versionId);
  if (version === undefined) {
    throw fhirError('not-found', 'not-found', `${resourceType}/${id} has no version ${versionId}`);
  }
  return shapeRead(readResponse(version, 'vread'), request.query);
}
