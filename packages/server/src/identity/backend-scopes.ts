/**
 * Scope negotiation for the client-credentials grant (SMART Backend Services,
 * https://hl7.org/fhir/smart-app-launch/backend-services.html#scopes, and RFC 6749 §3.3, §5.2).
 *
 * A backend service acts for no user and no patient, so it may ask for `system/` resource scopes
 * only, and it must ask for some: there is no default scope. The request is refused with
 * `invalid_scope` when any scope is malformed (`system/Patient.xyz`), names a resource type R4
 * does not have, or is not a `system/` scope (`launch`, `patient/*.rs`, `openid`): such a request
 * is a client bug, and guessing what it meant would hide it.
 *
 * Well-formed scopes are then bounded by the client's registration, and here the server narrows
 * rather than refuses: `system/*.*` from a client registered for `system/*.rs` is granted
 * `system/*.rs`, the read and search it may have. Only when nothing of the request is left — a
 * client asking only for scopes it is not registered for, such as `system/Patient.write` — is
 * it refused with `invalid_scope`. The token response names what was granted (RFC 6749 §5.1).
 */
import { isResourceType } from '@concordia/fhir';
import { PERMISSIONS, parseResourceScope, type ResourceScope, scopeCovers } from '../access/smart-scopes.ts';

export type BackendScopes = { granted: string[] } | { refused: string };

export function negotiateBackendScopes(
  requested: string | undefined,
  registered: readonly string[],
): BackendScopes {
  const names = [...new Set((requested ?? '').split(/\s+/).filter((name) => name !== ''))];
  if (names.length === 0) {
    return { refused: 'scope is required: the system/ scopes the backend service needs' };
  }
  const asked: ResourceScope[] = [];
  for (const name of names) {
    const scope = parseResourceScope(name);
    if (scope === undefined || scope.context !== 'system') {
      return { refused: `${name} is not a SMART system/ scope; a backend service may ask for those only` };
    }
    if (scope.resourceType !== '*' && !isResourceType(scope.resourceType)) {
      return { refused: `${name} names an unknown resource type` };
    }
    asked.push(scope);
  }
  const allowed = registered.map(parseResourceScope).filter((scope) => scope !== undefined);
  const granted = new Map<string, ResourceScope>();
  for (const scope of asked) {
    for (const narrowed of allowed.map((bound) => narrowScope(scope, bound))) {
      if (narrowed !== undefined) granted.set(narrowed.raw, narrowed);
    }
  }
  // Narrowing against several registered scopes can grant one scope and another that covers it.
  const kept = [...granted.values()].filter(
    (scope) => ![...granted.values()].some((other) => other !== scope && covers(other, scope)),
  );
  if (kept.length === 0) {
    return { refused: `this client is not registered for ${names.join(' ')}` };
  }
  return { granted: kept.map((scope) => scope.raw) };
}

/** Strict cover: `scopeCovers`, with ties (two spellings of one grant) broken by the raw text. */
function covers(a: ResourceScope, b: ResourceScope): boolean {
  if (!scopeCovers(a, b)) return false;
  return !scopeCovers(b, a) || a.raw < b.raw;
}

/**
 * What of `requested` the registered scope `bound` allows: `requested` itself when covered,
 * otherwise the more specific resource type, the permissions both have and both query
 * restrictions; `undefined` when they share no permission or resource type.
 */
function narrowScope(requested: ResourceScope, bound: ResourceScope): ResourceScope | undefined {
  if (scopeCovers(bound, requested)) return requested;
  if (bound.context !== requested.context) return undefined;
  if (
    bound.resourceType !== '*' &&
    requested.resourceType !== '*' &&
    bound.resourceType !== requested.resourceType
  )
    return undefined;
  const resourceType = requested.resourceType === '*' ? bound.resourceType : requested.resourceType;
  const permissions = PERMISSIONS.filter((p) => requested.permissions.has(p) && bound.permissions.has(p));
  if (permissions.length === 0) return undefined;
  const query = [...requested.query];
  for (const [name, value] of bound.query) {
    if (!query.some(([n, v]) => n === name && v === value)) query.push([name, value]);
  }
  const restriction =
    query.length === 0 ? '' : `?${new URLSearchParams(query.map(([n, v]): [string, string] => [n, v]))}`;
  return parseResourceScope(`${requested.context}/${resourceType}.${permissions.join('')}${restriction}`);
}
