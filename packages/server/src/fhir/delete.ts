/**
 * delete — http://hl7.org/fhir/R4/http.html#delete, and conditional delete (#cdelete).
 * Deleting writes a tombstone version; deleting what does not exist or is already deleted
 * succeeds without writing anything. Conditional delete supports a single match (412 on several),
 * as the CapabilityStatement declares (`conditionalDelete: single`).
 */
import { informationOutcome } from '@concordia/fhir';
import type { StoreTransaction } from '../store/port.ts';
import { findConditionalMatch, multipleMatches } from './conditional.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { returnPreference } from './prefer.ts';
import { criteriaQuery } from './query.ts';
import { etagOf, parseETagVersion } from './versioning.ts';

export async function deleteResource(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const resourceType = request.resourceType ?? '';
  const ifMatch =
    request.headers.ifMatch === undefined ? undefined : parseETagVersion(request.headers.ifMatch, 'If-Match');
  const preference = returnPreference(request.headers.prefer);

  return env.write(async (tx) => {
    const id = request.id ?? (await conditionalTarget(tx, request, env));
    if (id === undefined)
      return deleted(preference, `No ${resourceType} matched the criteria; nothing was deleted`);
    const current = await tx.read(env.ctx, resourceType, id);
    if (current === undefined || current.deleted) {
      return deleted(preference, `${resourceType}/${id} does not exist or is already deleted`);
    }
    const tombstone = await tx.apply(env.ctx, {
      kind: 'delete',
      resourceType,
      id,
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
    return deleted(preference, `Deleted ${resourceType}/${id}`, etagOf(tombstone.versionId));
  });
}

function deleted(preference: string | undefined, message: string, etag?: string): FhirResponse {
  const headers = etag === undefined ? {} : { etag };
  if (preference === 'OperationOutcome' || preference === 'representation') {
    return {
      status: 200,
      interaction: 'delete',
      headers,
      body: { kind: 'resource', resource: informationOutcome(message) },
    };
  }
  return { status: 204, interaction: 'delete', headers };
}

async function conditionalTarget(
  tx: StoreTransaction,
  request: RoutedRequest,
  env: InteractionEnv,
): Promise<string | undefined> {
  const resourceType = request.resourceType ?? '';
  const match = await findConditionalMatch(tx, env, resourceType, criteriaQuery(request.query));
  if (match.kind === 'many') multipleMatches(resourceType);
  return match.kind === 'one' ? match.id : undefined;
}
