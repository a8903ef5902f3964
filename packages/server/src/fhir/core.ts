/**
 * The FHIR core: routes a transport-neutral request to the handler of its interaction, the way
 * http://hl7.org/fhir/R4/http.html lays out the URL space, and turns every `FhirError` into an
 * OperationOutcome response in this one place.
 */
import { FhirError, isResourceType } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { ResourceStore } from '../store/port.ts';
import { capabilityStatement, type SoftwareInfo } from './capabilities.ts';
import { create } from './create.ts';
import { deleteResource } from './delete.ts';
import { history } from './history.ts';
import type { FhirCore, FhirRequest, FhirResponse, InteractionName } from './interaction.ts';
import type { CoreConfig, InteractionEnv } from './interaction-env.ts';
import type { FhirOperation } from './operations.ts';
import { patch } from './patch.ts';
import { read } from './read.ts';
import { createRouter } from './routes.ts';
import { searchCompartment, searchType } from './search.ts';
import { bundleHandler } from './transaction.ts';
import { update } from './update.ts';
import { vread } from './vread.ts';

export interface CoreDeps {
  store: ResourceStore;
  config: CoreConfig;
  software: SoftwareInfo;
  /** Extended operations served besides the REST interactions (operations.ts). */
  operations?: readonly FhirOperation[];
}

export function createFhirCore(deps: CoreDeps): FhirCore {
  const fhirBase = `${deps.config.baseUrl}/fhir`;
  const operations = deps.operations ?? [];
  const statement = capabilityStatement(deps.config, fhirBase, deps.software, operations);
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
        body: { kind: 'resource', resource: statement },
      }) as const,
    bundle: bundleHandler((request, env) => dispatch(request, env)),
    operations,
  };

  const resolveRoute = createRouter(handlers, isResourceType);

  async function dispatch(request: FhirRequest, env: InteractionEnv): Promise<FhirResponse> {
    const { route, routed } = resolveRoute(request);
    return route.handler(routed, env);
  }

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
        write: (work) => deps.store.transact(ctx, work),
      };
      try {
        return await dispatch(request, env);
      } catch (error) {
        if (!(error instanceof FhirError)) throw error;
        return {
          status: error.status,
          interaction: interactionOf(request),
          body: { kind: 'resource', resource: error.toOperationOutcome() },
        };
      }
    },
  };
}
