/**
 * create — http://hl7.org/fhir/R4/http.html#create, with conditional create (#ccreate):
 * `If-None-Exist` with no match creates, one match answers 200 with the existing resource and
 * does nothing, several matches answer 412. The server assigns the id; a client id is ignored.
 */
import { randomUUID } from 'node:crypto';
import { findConditionalMatch, multipleMatches } from './conditional.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { returnPreference } from './prefer.ts';
import { resourceFromBody } from './resource-body.ts';
import { readResponse, versionUrl, writeResponse } from './version-response.ts';
import { recordHeaderProvenance } from './x-provenance.ts';

export async function create(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const resourceType = request.resourceType ?? '';
  const resource = resourceFromBody(request.body, resourceType);
  const preference = returnPreference(request.headers.prefer);
  const ifNoneExist = request.headers.ifNoneExist;

  return env.write(async (tx) => {
    if (ifNoneExist !== undefined) {
      const match = await findConditionalMatch(
        tx,
        env,
        resourceType,
        stripTypePrefix(ifNoneExist, resourceType),
      );
      if (match.kind === 'many') multipleMatches(resourceType);
      if (match.kind === 'one') {
        const existing = await tx.read(env.ctx, resourceType, match.id);
        if (existing !== undefined) {
          const answer = readResponse(existing, 'create');
          const headers = { ...answer.headers, location: versionUrl(env.fhirBase, existing) };
          return preference === 'minimal'
            ? { status: 200, interaction: 'create', headers }
            : { ...answer, headers };
        }
      }
    }
    const id = request.assignedId ?? randomUUID();
    const stored = await tx.apply(env.ctx, {
      kind: 'write',
      method: 'POST',
      resource: { ...resource, id },
      mustNotExist: true,
    });
    await recordHeaderProvenance(tx, env.ctx, request.headers.provenance, stored);
    return writeResponse(stored, 201, 'create', env.fhirBase, preference, `Created ${resourceType}/${id}`);
  });
}

/** Clients sometimes send `If-None-Exist: Patient?identifier=…`; the spec's form is the bare query. */
function stripTypePrefix(query: string, resourceType: string): string {
  const withoutType = query.startsWith(`${resourceType}?`) ? query.slice(resourceType.length + 1) : query;
  return withoutType.startsWith('?') ? withoutType.slice(1) : withoutType;
}
