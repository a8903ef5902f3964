/**
 * The URL space of http://hl7.org/fhir/R4/http.html#summary mapped to interactions. What is not
 * implemented yet answers 501 (operations, compartments other than Patient) rather than pretending
 * to succeed.
 *
 * The method tables are built once per router: resolving a request allocates only its result,
 * because this runs on every request of every door.
 */
import { fhirError } from '@concordia/fhir';
import type { FhirMethod, FhirRequest, InteractionName } from './interaction.ts';
import type { InteractionHandler, Route, RoutedRequest } from './interaction-env.ts';
import { type FhirOperation, findOperation, type OperationLevel } from './operations.ts';
import { assertValidId } from './resource-body.ts';

export interface Handlers {
  read: InteractionHandler;
  vread: InteractionHandler;
  create: InteractionHandler;
  update: InteractionHandler;
  patch: InteractionHandler;
  delete: InteractionHandler;
  history: InteractionHandler;
  search: InteractionHandler;
  compartmentSearch: InteractionHandler;
  capabilities: InteractionHandler;
  bundle: InteractionHandler;
  /** Extended operations (`$name`) by name and level; any other `$name` answers 501. */
  operations: readonly FhirOperation[];
  /** Types served by their own handlers, read and search only (AuditEvent from the audit table). */
  readOnlyTypes?: readonly ReadOnlyResourceType[];
}

/**
 * A resource type kept outside the resource store and served read-only: `read` and `search` (GET
 * and POST `_search`); every other interaction on it answers 405. `capability` replaces its entry
 * in the CapabilityStatement.
 */
export interface ReadOnlyResourceType {
  type: string;
  read: InteractionHandler;
  search: InteractionHandler;
  capability: Record<string, unknown>;
}

type MethodTable = Partial<Record<FhirMethod, Route>>;

export interface ResolvedRoute {
  route: Route;
  routed: RoutedRequest;
}

export type Router = (request: FhirRequest) => ResolvedRoute;

export function createRouter(handlers: Handlers, isResourceType: (name: string) => boolean): Router {
  const route = (interaction: InteractionName, handler: InteractionHandler): Route => ({
    interaction,
    handler,
  });
  const tables = {
    system: {
      POST: route('transaction', handlers.bundle),
      GET: route('search-system', handlers.search),
    },
    systemSearch: { POST: route('search-system', handlers.search) },
    metadata: { GET: route('capabilities', handlers.capabilities) },
    systemHistory: { GET: route('history-system', handlers.history) },
    type: {
      GET: route('search-type', handlers.search),
      POST: route('create', handlers.create),
      PUT: route('update', handlers.update),
      PATCH: route('patch', handlers.patch),
      DELETE: route('delete', handlers.delete),
    },
    typeHistory: { GET: route('history-type', handlers.history) },
    typeSearch: { POST: route('search-type', handlers.search) },
    compartment: { GET: route('search-type', handlers.compartmentSearch) },
    instance: {
      GET: route('read', handlers.read),
      PUT: route('update', handlers.update),
      PATCH: route('patch', handlers.patch),
      DELETE: route('delete', handlers.delete),
    },
    instanceHistory: { GET: route('history-instance', handlers.history) },
    version: { GET: route('vread', handlers.vread) },
  } satisfies Record<string, MethodTable>;

  // One method table per operation, built once: resolving stays allocation-free.
  const operationTables = new Map<FhirOperation, MethodTable>();
  for (const operation of handlers.operations) {
    const table: MethodTable = {};
    for (const method of operation.methods) table[method] = route('operation', operation.handler);
    operationTables.set(operation, table);
  }
  const readOnlyTables = new Map(
    (handlers.readOnlyTypes ?? []).map((readOnly) => [
      readOnly.type,
      {
        type: { GET: route('search-type', readOnly.search) },
        typeSearch: { POST: route('search-type', readOnly.search) },
        instance: { GET: route('read', readOnly.read) },
      },
    ]),
  );

  const operationTable = (segment: string, level: OperationLevel, resourceType?: string): MethodTable => {
    const operation = findOperation(handlers.operations, segment.slice(1), level, resourceType);
    const where = resourceType === undefined ? '' : ` on ${resourceType}`;
    return operation === undefined
      ? everyMethod(notImplemented(`Operation ${segment} at ${level} level${where}`))
      : (operationTables.get(operation) ?? {});
  };

  return (request) => {
    const segments = request.path === '' ? [] : request.path.split('/');
    const [first, second, third, fourth] = segments;
    if (first === undefined) return pick(request, tables.system);
    if (segments.length === 1 && first === 'metadata') return pick(request, tables.metadata);
    if (segments.length === 1 && first === '_history') return pick(request, tables.systemHistory);
    if (segments.length === 1 && first === '_search') return pick(request, tables.systemSearch);
    if (first.startsWith('$')) return pick(request, operationTable(first, 'system'));
    if (!isResourceType(first))
      throw fhirError('not-found', 'not-supported', `Unknown resource type "${first}"`);
    const resourceType = first;
    const readOnly = readOnlyTables.get(resourceType);
    if (readOnly !== undefined) {
      if (second === undefined) return pick(request, readOnly.type, resourceType);
      if (segments.length === 2 && second === '_search')
        return pick(request, readOnly.typeSearch, resourceType);
      if (segments.length === 2 && !second.startsWith('$') && !second.startsWith('_')) {
        assertValidId(second);
        return pick(request, readOnly.instance, resourceType, second);
      }
      return pick(request, {}, resourceType);
    }

    if (second === undefined) return pick(request, tables.type, resourceType);
    if (segments.length === 2 && second === '_history')
      return pick(request, tables.typeHistory, resourceType);
    if (segments.length === 2 && second === '_search') return pick(request, tables.typeSearch, resourceType);
    if (second.startsWith('$')) {
      return pick(request, operationTable(second, 'type', resourceType), resourceType);
    }
    assertValidId(second);
    const id = second;
    if (third === undefined) return pick(request, tables.instance, resourceType, id);
    if (third === '_history' && segments.length <= 4) {
      if (fourth === undefined) return pick(request, tables.instanceHistory, resourceType, id);
      if (!/^\d+$/.test(fourth)) {
        throw fhirError('not-found', 'not-found', `${resourceType}/${id} has no version "${fourth}"`);
      }
      return pick(request, tables.version, resourceType, id, Number(fourth));
    }
    if (third.startsWith('$')) {
      return pick(request, operationTable(third, 'instance', resourceType), resourceType, id);
    }
    if (segments.length === 3 && isResourceType(third)) {
      // search.html#compartments: only the Patient compartment is indexed (store `compartment`).
      if (resourceType !== 'Patient') {
        return pick(request, everyMethod(notImplemented(`Search in the ${resourceType} compartment`)));
      }
      return pick(request, tables.compartment, resourceType, id);
    }
    throw fhirError('not-found', 'not-found', `No FHIR endpoint at ${request.path}`);
  };
}

function pick(
  request: FhirRequest,
  table: MethodTable,
  resourceType?: string,
  id?: string,
  versionId?: number,
): ResolvedRoute {
  // HEAD is answered like GET; the door drops the body (http.html#read allows HEAD).
  const route = table[request.method] ?? (request.method === 'HEAD' ? table.GET : undefined);
  if (route === undefined) {
    const allowed = Object.keys(table).join(', ');
    throw fhirError(
      'method-not-allowed',
      'not-supported',
      `${request.method} is not allowed on /${request.path} (allowed: ${allowed})`,
    );
  }
  if (resourceType === undefined) return { route, routed: request };
  // One object literal of a fixed shape (no spreads): this runs on every request.
  const routed: RoutedRequest = {
    method: request.method,
    path: request.path,
    query: request.query,
    headers: request.headers,
    body: request.body,
    assignedId: request.assignedId,
    skipUnchanged: request.skipUnchanged,
    resourceType,
    id,
    versionId,
  };
  return { route, routed };
}

function notImplemented(what: string): Route {
  return {
    interaction: 'unknown',
    handler: async () => {
      throw fhirError('not-implemented', 'not-supported', `${what} is not implemented yet`);
    },
  };
}

function everyMethod(route: Route): MethodTable {
  return { GET: route, POST: route, PUT: route, PATCH: route, DELETE: route };
}
