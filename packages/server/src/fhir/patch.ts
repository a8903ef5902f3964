/**
 * patch — http://hl7.org/fhir/R4/http.html#patch: JSON Patch (RFC 6902, `application/json-patch+json`)
 * or FHIRPath Patch (a `Parameters` resource, http://hl7.org/fhir/R4/fhirpatch.html). The result is
 * checked like an update, and must keep its resourceType and id. Conditional patch resolves its
 * target like conditional update, except that no match is 404.
 *
 * Without If-Match the patch is applied to the version read in the same transaction and written
 * with that version as precondition; if another writer got in between, the patch is re-applied to
 * the newer version (a few attempts), so no concurrent update is ever lost.
 */
import {
  applyFhirPathPatch,
  applyJsonPatch,
  FhirError,
  type FhirResource,
  fhirError,
  isRecord,
} from '@concordia/fhir';
import type { StoreTransaction } from '../store/port.ts';
import { findConditionalMatch, multipleMatches } from './conditional.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { returnPreference } from './prefer.ts';
import { criteriaQuery } from './query.ts';
import { assertValidStructure } from './resource-body.ts';
import { parseStoredJson, writeResponse } from './version-response.ts';
import { parseETagVersion } from './versioning.ts';

const ATTEMPTS = 5;

export async function patch(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const resourceType = request.resourceType ?? '';
  const applyPatch = patchFunction(request);
  const ifMatch =
    request.headers.ifMatch === undefined ? undefined : parseETagVersion(request.headers.ifMatch, 'If-Match');
  const preference = returnPreference(request.headers.prefer);

  for (let attempt = 1; ; attempt++) {
    try {
      return await env.write(async (tx) => {
        const id = request.id ?? (await conditionalTarget(request, env, tx));
        const current = await tx.read(env.ctx, resourceType, id);
        if (current === undefined)
          throw fhirError('not-found', 'not-found', `${resourceType}/${id} is not known`);
        if (current.json === undefined)
          throw fhirError('gone', 'deleted', `${resourceType}/${id} has been deleted`);
        if (ifMatch !== undefined && ifMatch !== current.versionId) {
          throw fhirError(
            'precondition-failed',
            'conflict',
            `If-Match ${ifMatch} but the current version is ${current.versionId}`,
          );
        }
        const before = { ...parseStoredJson(current.json), id };
        const after = applyPatch(before);
        if (after.resourceType !== resourceType || after.id !== id) {
          throw fhirError(
            'unprocessable',
            'processing',
            'A patch must not change the resourceType or the id of a resource',
          );
        }
        assertValidStructure(after);
        const stored = await tx.apply(env.ctx, {
          kind: 'write',
          method: 'PATCH',
          resource: { ...after, id },
          ifMatch: current.versionId,
        });
        return writeResponse(stored, 200, 'patch', env.fhirBase, preference, `Patched ${resourceType}/${id}`);
      });
    } catch (error) {
      const lostRace =
        error instanceof FhirError && error.kind === 'precondition-failed' && ifMatch === undefined;
      if (!lostRace || attempt >= ATTEMPTS) throw error;
    }
  }
}

type PatchFunction = (resource: FhirResource & { id: string }) => FhirResource;

function patchFunction(request: RoutedRequest): PatchFunction {
  const contentType = request.headers.contentType?.split(';')[0]?.trim().toLowerCase();
  const body = request.body;
  if (contentType === 'application/json-patch+json') return (resource) => applyJsonPatch(resource, body);
  if (isRecord(body) && body.resourceType === 'Parameters')
    return (resource) => applyFhirPathPatch(resource, body);
  if (Array.isArray(body)) return (resource) => applyJsonPatch(resource, body);
  throw fhirError(
    'unsupported-media-type',
    'not-supported',
    'PATCH needs a JSON Patch document (application/json-patch+json) or a FHIRPath Patch Parameters resource (application/fhir+json)',
  );
}

async function conditionalTarget(
  request: RoutedRequest,
  env: InteractionEnv,
  tx: StoreTransaction,
): Promise<string> {
  const resourceType = request.resourceType ?? '';
  const match = await findConditionalMatch(tx, env, resourceType, criteriaQuery(request.query));
  if (match.kind === 'many') multipleMatches(resourceType);
  if (match.kind === 'none')
    throw fhirError('not-found', 'not-found', `No ${resourceType} matches the criteria`);
  return match.id;
}
