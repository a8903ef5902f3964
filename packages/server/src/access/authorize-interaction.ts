/**
 * The enforcement seam of the FHIR core: before an interaction runs, the token's scopes must
 * allow it. Interactions map to SMART permissions (scopes-and-launch-context.html#scopes-for-requesting-fhir-resources):
 * read, vread, instance history → r; search, type and system history → s; create → c;
 * update, patch → u; delete → d; conditional create/update/delete also search (s); `_include`
 * needs r on the included type and `_revinclude` s on the referring type. A transaction or batch
 * is checked entry by entry (each entry is dispatched through the core again); an operation by
 * what it does (one that may be invoked with GET changes nothing, operations.ts).
 *
 * Internal principals (system jobs, open development mode) are not bounded by scopes; an
 * anonymous request may only read the CapabilityStatement.
 */
import { FhirError, fhirError, isRecord, searchParameter } from '@concordia/fhir';
import { bundleEntryRequests } from '../fhir/bundle-entries.ts';
import type { FhirRequest, InteractionName } from '../fhir/interaction.ts';
import type { RoutedRequest } from '../fhir/interaction-env.ts';
import { type FhirOperation, findOperation, type OperationLevel } from '../fhir/operations.ts';
import { refuseBreakTheGlass } from './break-the-glass.ts';
import type { RequestContext, TokenGrant } from './request-context.ts';
import { decideScopes, type ScopeRequest, searchConfinedToPatient } from './scope-decision.ts';
import type { Permission } from './smart-scopes.ts';

export type InteractionAuthorizer = (
  ctx: RequestContext,
  interaction: InteractionName,
  request: RoutedRequest,
) => void;

export interface AuthorizerDeps {
  /** The extended operations registered with the core. */
  operations: readonly FhirOperation[];
  /** The core's router: what interaction a (transaction entry) request is. */
  resolve(request: FhirRequest): { interaction: InteractionName; routed: RoutedRequest };
  fhirBase: string;
}

/** Builds the check the core runs on every routed request. */
export function interactionAuthorizer(deps: AuthorizerDeps): InteractionAuthorizer {
  return (ctx, interaction, request) => {
    const { principal } = ctx;
    const refusal = refuseBreakTheGlass(ctx);
    if (refusal !== undefined) throw refusal;
    if (principal.kind === 'open-development' || principal.kind === 'system') return;
    // A client that sent credentials must learn they do not work, even where none are needed.
    if (principal.kind === 'anonymous' && principal.rejected !== undefined)
      throw fhirError('unauthorized', 'login', principal.rejected.description);
    if (interaction === 'capabilities') return;
    if (principal.kind === 'anonymous') {
      throw fhirError(
        'unauthorized',
        'login',
        'This request needs an access token (Authorization: Bearer …)',
      );
    }
    const required =
      interaction === 'transaction'
        ? transactionAccess(request, deps, principal)
        : requiredAccess(interaction, request, deps.operations, principal);
    for (const access of required) {
      const decision = decideScopes(principal, access);
      if (!decision.allowed) throw new FhirError('forbidden', [forbidden(decision.reason)]);
    }
  };
}

/**
 * Every entry of a transaction is checked again when it is dispatched, but a transaction also
 * works before that: it matches conditional creates (`ifNoneExist`) and resolves conditional
 * references (`Patient?identifier=…`) with searches. So all entries are checked up front, and each
 * conditional reference needs search on its type.
 */
function transactionAccess(request: RoutedRequest, deps: AuthorizerDeps, grant: TokenGrant): ScopeRequest[] {
  if (!isRecord(request.body) || request.body.type !== 'transaction') return [];
  const required: ScopeRequest[] = [];
  for (const entry of bundleEntryRequests(request.body, deps.fhirBase)) {
    const { interaction, routed } = deps.resolve(entry.request);
    required.push(...requiredAccess(interaction, routed, deps.operations, grant));
    for (const reference of conditionalReferences(entry.request.body)) {
      const question = reference.indexOf('?');
      required.push({
        permission: 's',
        resourceType: reference.slice(0, question),
        query: [...new URLSearchParams(reference.slice(question + 1))],
      });
    }
  }
  return required;
}

function conditionalReferences(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) conditionalReferences(item, found);
  else if (isRecord(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string' && /^[A-Z][A-Za-z]+\?/.test(child))
        found.push(child);
      else conditionalReferences(child, found);
    }
  }
  return found;
}

function forbidden(diagnostics: string) {
  return { severity: 'error' as const, code: 'forbidden' as const, diagnostics };
}

/** What a routed request needs from the token's scopes. */
export function requiredAccess(
  interaction: InteractionName,
  request: RoutedRequest,
  operations: readonly FhirOperation[],
  grant: Pick<TokenGrant, 'patient'>,
): ScopeRequest[] {
  const type = request.resourceType ?? '*';
  const patient = type === 'Patient' ? request.id : undefined;
  const on = (permission: Permission, extra: Partial<ScopeRequest> = {}): ScopeRequest => ({
    permission,
    resourceType: type,
    ...(patient !== undefined ? { patient } : {}),
    ...extra,
  });
  // The store applies the access decision to these rows itself (scope-decision.ts `confinable`).
  const confinable = { confinable: true };
  switch (interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
      return [on('r', confinable)];
    case 'history-type':
    case 'history-system':
      return [on('s')];
    case 'create': {
      const ifNoneExist = request.headers.ifNoneExist;
      return ifNoneExist === undefined
        ? [on('c', confinable)]
        : [on('c'), on('s', { query: conditionQuery(ifNoneExist) })];
    }
    case 'update':
    case 'patch':
      return request.id === undefined ? [on('u'), on('s', { query: request.query })] : [on('u', confinable)];
    case 'delete':
      return request.id === undefined ? [on('d'), on('s', { query: request.query })] : [on('d', confinable)];
    case 'search-type':
    case 'search-system':
      return searchAccess(request, grant);
    case 'operation':
      return operationAccess(request, operations);
    default:
      // transaction/batch: each entry is dispatched, and checked, on its own. capabilities: public.
      // unknown: answered 501 by its handler.
      return [];
  }
}

function conditionQuery(criteria: string): [string, string][] {
  const question = criteria.indexOf('?');
  return [...new URLSearchParams(question === -1 ? criteria : criteria.slice(question + 1))];
}

function searchAccess(request: RoutedRequest, grant: Pick<TokenGrant, 'patient'>): ScopeRequest[] {
  const query = request.query;
  const segments = request.path.split('/');
  const compartmentType = segments.length === 3 ? segments[2] : undefined;
  let main: ScopeRequest[];
  let confinedTo: string | undefined;
  if (request.resourceType === 'Patient' && request.id !== undefined && compartmentType !== undefined) {
    // Patient/<id>/<Type>: a search of <Type> inside one patient's compartment.
    main = [{ permission: 's', resourceType: compartmentType, query, patient: request.id }];
    confinedTo = request.id;
  } else if (request.resourceType !== undefined) {
    main = [{ permission: 's', resourceType: request.resourceType, query }];
    if (grant.patient !== undefined && searchConfinedToPatient(request.resourceType, query, grant.patient)) {
      confinedTo = grant.patient;
    }
  } else {
    const types = query
      .filter(([name]) => name === '_type')
      .flatMap(([, value]) => value.split(','))
      .filter((type) => type !== '');
    main = (types.length === 0 ? ['*'] : types).map((resourceType) => ({
      permission: 's' as const,
      resourceType,
      query,
    }));
  }
  const through = confinedTo !== undefined && confinedTo === grant.patient;
  return [...main, ...includeAccess(query, through)];
}

/** `_include=Type:param[:Target]` reads the targets; `_revinclude=Type:param` searches Type. */
function includeAccess(query: readonly (readonly [string, string])[], through: boolean): ScopeRequest[] {
  const required: ScopeRequest[] = [];
  const extra = through ? { throughConfinedSearch: true } : {};
  for (const [rawName, value] of query) {
    const name = rawName.replace(/:iterate$|:recurse$/, '');
    if (name !== '_include' && name !== '_revinclude') continue;
    const [source = '*', param = '*', target] = value.split(':');
    if (name === '_revinclude') {
      required.push({ permission: 's', resourceType: source === '*' ? '*' : source, ...extra });
      continue;
    }
    const targets =
      target !== undefined
        ? [target]
        : source === '*' || param === '*'
          ? ['*']
          : (searchParameter(source, param)?.targets ?? ['*']);
    for (const resourceType of targets.length === 0 ? ['*'] : targets) {
      required.push({ permission: 'r', resourceType, ...extra });
    }
  }
  return required;
}

/**
 * An operation that may be invoked with GET changes nothing (operations.html#request), so it needs
 * read access; any other needs create, update and delete. An instance operation on a Patient
 * (`$everything`) reads the patient's whole compartment, so it needs read on every type there.
 */
function operationAccess(request: RoutedRequest, operations: readonly FhirOperation[]): ScopeRequest[] {
  const segments = request.path.split('/');
  const level: OperationLevel =
    request.resourceType === undefined ? 'system' : request.id === undefined ? 'type' : 'instance';
  const name = (segments.find((segment) => segment.startsWith('$')) ?? '$').slice(1);
  const operation = findOperation(operations, name, level, request.resourceType);
  if (operation?.checksAccessItself === true) return [];
  const readOnly = operation?.methods.includes('GET') ?? false;
  const patient = request.resourceType === 'Patient' ? request.id : undefined;
  const resourceType = level === 'system' || patient !== undefined ? '*' : (request.resourceType ?? '*');
  const permissions: Permission[] = readOnly ? ['r'] : ['c', 'u', 'd'];
  return permissions.map((permission) => ({
    permission,
    resourceType,
    operation: true,
    ...(patient !== undefined ? { patient } : {}),
  }));
}
