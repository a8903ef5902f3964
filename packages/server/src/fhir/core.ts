/**
 * The FHIR core: routes a transport-neutral request to the handler of its interaction, the way
 * http://hl7.org/fhir/R4/http.html lays out the URL space, and turns every `FhirError` into an
 * OperationOutcome response in this one place.
 */
import {
  FhirError,
  type FhirResource,
  isRecord,
  isResourceType,
  r4SearchParameters,
  type SearchParameterRegistry,
} from '@concordia/fhir';
import { decideAccess } from '../access/access-policy.ts';
import { interactionAuthorizer } from '../access/authorize-interaction.ts';
import { maskBody } from '../access/element-masking.ts';
import type { RequestContext } from '../access/request-context.ts';
import type { ResourceStore } from '../store/port.ts';
import { type CapabilitySecurity, capabilityStatement, type SoftwareInfo } from './capabilities.ts';
import { create } from './create.ts';
import { deleteResource } from './delete.ts';
import { hiddenTargetAnswers } from './hidden-targets.ts';
import { history } from './history.ts';
import type { FhirCore, FhirRequest, FhirResponse, InteractionName } from './interaction.ts';
import type { CoreConfig, InteractionEnv } from './interaction-env.ts';
import type { InteractionObserver } from './interaction-observer.ts';
import type { FhirOperation } from './operations.ts';
import { patch } from './patch.ts';
import { read } from './read.ts';
import { createRouter, type ReadOnlyResourceType } from './routes.ts';
import { searchCompartment, searchType } from './search.ts';
import type { TerminologyFilterResolver } from './terminology-filters.ts';
import { bundleHandler } from './transaction.ts';
import { update } from './update.ts';
import { vread } from './vread.ts';
import { hookedWrite, type WriteHook } from './write-hooks.ts';

export interface CoreDeps {
  store: ResourceStore;
  config: CoreConfig;
  software: SoftwareInfo;
  /** Extended operations served besides the REST interactions (operations.ts). */
  operations?: readonly FhirOperation[];
  /**
   * The search parameters searches are parsed with and the CapabilityStatement lists; the store's
   * indexer must use the same registry. Default: the shared R4 registry.
   */
  searchParameters?: SearchParameterRegistry;
  /** Observers of writes of some resource types (write-hooks.ts), e.g. SearchParameter. */
  writeHooks?: readonly WriteHook[];
  /** The authorization server's endpoints, listed in the CapabilityStatement's `rest.security`. */
  security?: CapabilitySecurity;
  /** Told of every request the core answered (interaction-observer.ts), e.g. the audit. */
  observers?: readonly InteractionObserver[];
  /** Types served read-only by their own handlers (routes.ts), e.g. AuditEvent from the audit. */
  readOnlyTypes?: readonly ReadOnlyResourceType[];
  /** Resolves the terminology token modifiers of searches (terminology-filters.ts). */
  terminologyFilters?: TerminologyFilterResolver;
  /**
   * Run around the handling of each request, first outermost, inside the error mapping: e.g. the
   * answer to a write shows content the blob store keeps as it was written (blobs/write-answers.ts).
   */
  interceptors?: readonly RequestInterceptor[];
}

export type RequestInterceptor = (handle: () => Promise<FhirResponse>) => Promise<FhirResponse>;

export function createFhirCore(deps: CoreDeps): FhirCore {
  const fhirBase = `${deps.config.baseUrl}/fhir`;
  const operations = deps.operations ?? [];
  const searchParameters = deps.searchParameters ?? r4SearchParameters();
  const writeHooks = deps.writeHooks ?? [];
  const observers = deps.observers ?? [];
  const readOnlyTypes = deps.readOnlyTypes ?? [];
  const interceptors = deps.interceptors ?? [];
  // Rebuilt when the registry changes (a custom SearchParameter registered or searchable).
  let statement: { version: number; resource: FhirResource } | undefined;
  const currentStatement = (): FhirResource => {
    if (statement?.version !== searchParameters.version) {
      statement = {
        version: searchParameters.version,
        resource: withReadOnlyTypes(
          capabilityStatement(
            deps.config,
            fhirBase,
            deps.software,
            operations,
            searchParameters,
            deps.security,
            { terminology: deps.terminologyFilters !== undefined },
          ),
          readOnlyTypes,
        ),
      };
    }
    return statement.resource;
  };
  const handlers = {
    read,
    vread,
    create,
    update,
    patch,
    delete: deleteResource,
    history,
    search: searchType,
    compartmentSearch: searchCompartment,
    capabilities: async () =>
      ({
        status: 200,
        interaction: 'capabilities',
        body: { kind: 'resource', resource: currentStatement() },
      }) as const,
    bundle: bundleHandler((request, env) => dispatch(request, env)),
    operations,
    readOnlyTypes,
  };

  const resolveRoute = createRouter(handlers, isResourceType);
  const resolve = (request: FhirRequest) => {
    const { route, routed } = resolveRoute(request);
    return { interaction: route.interaction, routed };
  };
  const authorize = interactionAuthorizer({ operations, fhirBase, resolve });

  async function dispatch(request: FhirRequest, env: InteractionEnv): Promise<FhirResponse> {
    const { route, routed } = resolveRoute(request);
    // The token's scopes bound every interaction, transaction entries included (access/).
    authorize(env.ctx, route.interaction, routed);
    return route.handler(routed, env);
  }

  const hiddenTargets = hiddenTargetAnswers({
    mode: deps.config.accessHidden ?? 'not-found',
    reads: deps.store,
    resolve,
  });

  function interactionOf(request: FhirRequest): InteractionName {
    try {
      return resolveRoute(request).route.interaction;
    } catch {
      return 'unknown';
    }
  }

  return {
    async handle(ctx: RequestContext, request: FhirRequest): Promise<FhirResponse> {
      const env: InteractionEnv = {
        ctx,
        config: deps.config,
        fhirBase,
        store: deps.store,
        reads: deps.store,
        searchParameters,
        write: hookedWrite(deps.store, ctx, writeHooks),
        ...(deps.terminologyFilters !== undefined ? { terminologyFilters: deps.terminologyFilters } : {}),
      };
      let response: FhirResponse;
      try {
        response = await interceptors.reduceRight<() => Promise<FhirResponse>>(
          (next, intercept) => () => intercept(next),
          () => dispatch(request, env),
        )();
        // Elements the access decision masks for this principal (access/element-masking.ts).
        const { masks } = decideAccess(ctx, { kind: 'read' });
        if (masks.size > 0 && response.body !== undefined) {
          response = { ...response, body: maskBody(response.body, masks) };
        }
      } catch (error) {
        if (!(error instanceof FhirError)) throw error;
        response = {
          status: error.status,
          interaction: interactionOf(request),
          body: { kind: 'resource', resource: error.toOperationOutcome() },
        };
      }
      response = await hiddenTargets(ctx, request, response);
      for (const observe of observers)
        await observe({ ctx, request, interaction: response.interaction, response });
      return response;
    },
  };
}

/** The CapabilityStatement with each read-only type's own entry in place of the generic one. */
function withReadOnlyTypes(
  statement: FhirResource,
  readOnlyTypes: readonly ReadOnlyResourceType[],
): FhirResource {
  if (readOnlyTypes.length === 0 || !Array.isArray(statement.rest)) return statement;
  const replaced = new Map(readOnlyTypes.map((readOnly) => [readOnly.type, readOnly.capability]));
  const rest = statement.rest.map((entry: unknown) => {
    if (!isRecord(entry) || !Array.isArray(entry.resource)) return entry;
    const resource = entry.resource.map((listed: unknown) =>
      isRecord(listed) && typeof listed.type === 'string' ? (replaced.get(listed.type) ?? listed) : listed,
    );
    return { ...entry, resource };
  });
  return { ...statement, rest };
}
