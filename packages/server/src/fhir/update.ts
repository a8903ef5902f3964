/**
 * update — http://hl7.org/fhir/R4/http.html#update, and conditional update (#cond-update).
 * Update-as-create answers 201 when allowed by config (CapabilityStatement `updateCreate`), else
 * 405; `If-Match` with another version answers 412 (#concurrency).
 */
import { randomUUID } from 'node:crypto';
import { type FhirResource, fhirError } from '@concordia/fhir';
import type { StoredVersion, StoreTransaction } from '../store/port.ts';
import { findConditionalMatch, multipleMatches } from './conditional.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { returnPreference } from './prefer.ts';
import { criteriaQuery } from './query.ts';
import { assertIdMatches, assertValidId, resourceFromBody } from './resource-body.ts';
import { sameContent } from './unchanged-content.ts';
import { writeResponse } from './version-response.ts';
import { parseETagVersion } from './versioning.ts';
import { recordHeaderProvenance } from './x-provenance.ts';

export async function update(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const resourceType = request.resourceType ?? '';
  const resource = resourceFromBody(request.body, resourceType);
  const ifMatch =
    request.headers.ifMatch === undefined ? undefined : parseETagVersion(request.headers.ifMatch, 'If-Match');
  const preference = returnPreference(request.headers.prefer);

  if (request.id !== undefined) assertIdMatches(resource, request.id);

  return env.write(async (tx) => {
    const id = request.id ?? (await conditionalTarget(tx, request, env, resource));
    const previous = await tx.read(env.ctx, resourceType, id);
    if (request.skipUnchanged === true && ifMatch === undefined && previous?.json !== undefined) {
      if (sameContent(previous.json, { ...resource, id })) {
        return writeResponse(
          previous,
          200,
          'update',
          env.fhirBase,
          preference,
          `${resourceType}/${id} is unchanged; no new version`,
        );
      }
    }
    const { version, created } = await writeVersion(tx, env, { ...resource, id }, 'PUT', ifMatch, {
      previous,
    });
    await recordHeaderProvenance(tx, env.ctx, request.headers.provenance, version);
    return writeResponse(
      version,
      created ? 201 : 200,
      'update',
      env.fhirBase,
      preference,
      `${created ? 'Created' : 'Updated'} ${resourceType}/${id}`,
    );
  });
}

/**
 * Writes a new version of `resource`, creating it when it does not exist and config allows it.
 * `created` is true when no live version existed before, which decides 201 over 200.
 */
export async function writeVersion(
  tx: StoreTransaction,
  env: InteractionEnv,
  resource: FhirResource & { id: string },
  method: 'PUT' | 'PATCH',
  ifMatch: number | undefined,
  /** The current version when the caller has already read it. */
  known?: { previous: StoredVersion | undefined },
): Promise<{ version: StoredVersion; created: boolean }> {
  const previous =
    known !== undefined ? known.previous : await tx.read(env.ctx, resource.resourceType, resource.id);
  if (previous === undefined && !env.config.updateCreate) {
    throw fhirError(
      'method-not-allowed',
      'not-supported',
      `${resource.resourceType}/${resource.id} does not exist and this server does not allow clients to choose ids`,
    );
  }
  if (ifMatch !== undefined && previous === undefined) {
    throw fhirError(
      'precondition-failed',
      'conflict',
      `If-Match given but ${resource.resourceType}/${resource.id} does not exist`,
    );
  }
  const version = await tx.apply(env.ctx, {
    kind: 'write',
    method,
    resource,
    ...(ifMatch !== undefined ? { ifMatch } : {}),
  });
  return { version, created: previous === undefined || previous.deleted };
}

/** Conditional update: no match creates (with the body's id or a new one), one match updates it, more is 412. */
async function conditionalTarget(
  tx: StoreTransaction,
  request: RoutedRequest,
  env: InteractionEnv,
  resource: FhirResource,
): Promise<string> {
  const resourceType = resource.resourceType;
  const match = await findConditionalMatch(tx, env, resourceType, criteriaQuery(request.query));
  if (match.kind === 'many') multipleMatches(resourceType);
  if (match.kind === 'one') {
    if (resource.id !== undefined && resource.id !== match.id) {
      throw fhirError(
        'invalid',
        'invalid',
        `The resource id ${resource.id} differs from the id of the resource the criteria match (${match.id})`,
        [`${resourceType}.id`],
      );
    }
    return match.id;
  }
  if (typeof resource.id === 'string') {
    assertValidId(resource.id);
    return resource.id;
  }
  return randomUUID();
}
