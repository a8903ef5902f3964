/**
 * What a request by id answers when its target exists but the access decision hides it
 * (docs/security.md). The store reads a hidden row as absent, so by default the answer is the one
 * an unknown id gets — 404 on read, vread, instance history, patch and `Patient/{id}/$everything`,
 * the 409 "id in use" of an update (store/resource-store.ts), the no-op 204 of a delete — and
 * existence does not leak. `CONCORDIA_ACCESS_HIDDEN=forbidden` answers 403 `forbidden` instead,
 * for exchanges whose members would rather be told a record exists but is not theirs to open.
 *
 * Either way the answer is marked `denied`, so the audit records a denial and not a miss. Only
 * those failure-shaped answers of a token principal are looked at again (one read as the server,
 * one as the principal); a request that succeeds costs nothing more. Entries of a transaction or
 * batch Bundle keep the default answer: their outcome is the Bundle's.
 */
import { fhirError } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import { systemContext } from '../access/request-context.ts';
import type { StoreReads } from '../store/port.ts';
import type { FhirRequest, FhirResponse, InteractionName } from './interaction.ts';
import type { HiddenAnswer, RoutedRequest } from './interaction-env.ts';

export interface HiddenTargetDeps {
  mode: HiddenAnswer;
  reads: StoreReads;
  resolve(request: FhirRequest): { interaction: InteractionName; routed: RoutedRequest };
}

export type HiddenTargetCheck = (
  ctx: RequestContext,
  request: FhirRequest,
  response: FhirResponse,
) => Promise<FhirResponse>;

const AS_SERVER = systemContext('access-hidden');

export function hiddenTargetAnswers(deps: HiddenTargetDeps): HiddenTargetCheck {
  return async (ctx, request, response) => {
    if (ctx.principal.kind !== 'user' && ctx.principal.kind !== 'client') return response;
    const target = targetOf(deps, request, response);
    if (target === undefined) return response;
    const { resourceType, id } = target;
    const [exists, visible] = await Promise.all([
      deps.reads.read(AS_SERVER, resourceType, id),
      deps.reads.read(ctx, resourceType, id),
    ]);
    if (exists === undefined || visible !== undefined) return response;
    const denied = `${resourceType}/${id} is outside the records this principal may access`;
    if (deps.mode === 'not-found') return { ...response, denied };
    const outcome = fhirError('forbidden', 'forbidden', denied).toOperationOutcome();
    return {
      status: 403,
      interaction: response.interaction,
      body: { kind: 'resource', resource: outcome },
      denied,
    };
  };
}

/** The instance a failure-shaped answer is about, when it is one a hidden target gives. */
function targetOf(
  deps: HiddenTargetDeps,
  request: FhirRequest,
  response: FhirResponse,
): { resourceType: string; id: string } | undefined {
  const { status } = response;
  if (status !== 404 && status !== 409 && !(request.method === 'DELETE' && status < 300)) return undefined;
  let resolved: ReturnType<HiddenTargetDeps['resolve']>;
  try {
    resolved = deps.resolve(request);
  } catch {
    return undefined;
  }
  const { interaction, routed } = resolved;
  const { resourceType, id } = routed;
  if (resourceType === undefined || id === undefined) return undefined;
  const hiddenShaped =
    (status === 404 && NOT_FOUND_SHAPED.has(interaction)) ||
    (status === 404 && interaction === 'operation' && isEverything(routed)) ||
    (status === 409 && interaction === 'update') ||
    // A delete of what this principal cannot see deletes nothing: no ETag (delete.ts).
    (interaction === 'delete' && status < 300 && response.headers?.etag === undefined);
  return hiddenShaped ? { resourceType, id } : undefined;
}

const NOT_FOUND_SHAPED: ReadonlySet<InteractionName> = new Set([
  'read',
  'vread',
  'history-instance',
  'patch',
]);

function isEverything(routed: RoutedRequest): boolean {
  return routed.resourceType === 'Patient' && routed.path.endsWith('/$everything');
}
