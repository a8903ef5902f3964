/**
 * The URL space of http://hl7.org/fhir/R4/http.html#summary mapped to interactions. What is not
 * implemented yet answers 501 (search, operations) rather than pretending to succeed.
 */
import { fhirError } from '@concordia/fhir';
import type { FhirMethod, FhirRequest, InteractionName } from './interaction.ts';
import type { InteractionHandler, Route, RoutedRequest } from './interaction-env.ts';
import { assertValidId } from './resource-body.ts';

export interface Handlers {
  read: InteractionHandler;
  vread: InteractionHandler;
  create: InteractionHandler;
  update: InteractionHandler;
  patch: InteractionHandler;
  delete: InteractionHandler;
  history: InteractionHandler;
  capabilities: InteractionHandler;
  bundle: InteractionHandler;
}

type MethodTable = Partial<Record<FhirMethod, Route>>;

export function resolveRoute(
  request: FhirRequest,
  handlers: Handlers,
  isResourceType: (name: string) => boolean,
): { route: Route; routed: RoutedRequest } {
  const segments = request.path === '' ? [] : request.path.split('/');
  const [first, second, third, fourth, ...rest] = segments;
  const route = (interaction: InteractionName, handler: InteractionHandler): Route => ({
    interaction,
    handler,
  });
  const notImplemented = (what: string): Route =>
    route('unknown', async () => {
      throw fhirError('not-implemented', 'not-supported', `${what} is not implemented yet`);
    });

  if (first === undefined) {
    return pick(request, {
      POST: route('transaction', handlers.bundle),
      GET: notImplemented('Search across all resource types'),
    });
  }
  if (first === 'metadata' && second === undefined) {
    return pick(request, { GET: route('capabilities', handlers.capabilities) });
  }
  if (first === '_history' && second === undefined) {
    return pick(request, { GET: route('history-system', handlers.history) });
  }
  if (first.startsWith('$') || first === '_search')
    return pick(request, allMethods(notImplemented(`${first}`)));
  if (!isResourceType(first)) {
    throw fhirError('not-found', 'not-supported', `Unknown resource type "${first}"`);
  }
  const resourceType = first;

  if (second === undefined) {
    return pick(
      request,
      {
        GET: notImplemented(`Search on ${resourceType}`),
        POST: route('create', handlers.create),
        PUT: route('update', handlers.update),
        PATCH: route('patch', handlers.patch),
        DELETE: route('delete', handlers.delete),
      },
      { resourceType },
    );
  }
  if (second === '_history' && third === undefined) {
    return pick(request, { GET: route('history-type', handlers.history) }, { resourceType });
  }
  if (second === '_search' || second.startsWith('$')) {
    return pick(request, allMethods(notImplemented(`${resourceType}/${second}`)));
  }
  assertValidId(second);
  const id = second;
  if (third === undefined) {
    return pick(
      request,
      {
        GET: route('read', handlers.read),
        PUT: route('update', handlers.update),
        PATCH: route('patch', handlers.patch),
        DELETE: route('delete', handlers.delete),
      },
      { resourceType, id },
    );
  }
  if (third === '_history' && rest.length === 0) {
    if (fourth === undefined) {
      return pick(request, { GET: route('history-instance', handlers.history) }, { resourceType, id });
    }
    if (!/^\d+$/.test(fourth)) {
      throw fhirError('not-found', 'not-found', `${resourceType}/${id} has no version "${fourth}"`);
    }
    return pick(
      request,
      { GET: route('vread', handlers.vread) },
      { resourceType, id, versionId: Number(fourth) },
    );
  }
  if (third.startsWith('$'))
    return pick(request, allMethods(notImplemented(`${resourceType}/${id}/${third}`)));
  throw fhirError('not-found', 'not-found', `No FHIR endpoint at ${request.path}`);
}

function pick(
  request: FhirRequest,
  table: MethodTable,
  parts: { resourceType?: string; id?: string; versionId?: number } = {},
): { route: Route; routed: RoutedRequest } {
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
  return { route, routed: { ...request, ...parts } };
}

function allMethods(route: Route): MethodTable {
  return { GET: route, POST: route, PUT: route, PATCH: route, DELETE: route };
}
