/**
 * SMART on FHIR scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html),
 * parsed once into data: `patient/Observation.rs?category=laboratory` becomes
 * `{ context: 'patient', resourceType: 'Observation', permissions: {r, s}, query: [['category',
 * 'laboratory']] }`. Both grammars are read:
 *
 * - v2: `<context>/<type|*>.<c?r?u?d?s?>[?query]` — the letters in the order c, r, u, d, s;
 * - v1: `<context>/<type|*>.<read|write|*>` — read = r+s, write = c+u+d, `*` = all five.
 *
 * Scopes that are not about resources (`openid`, `fhirUser`, `launch/patient`,
 * `offline_access`…) are kept by name. Anything malformed is reported in `invalid`, never guessed:
 * that includes a query restriction that is not a valid search of its type (scope-criteria.ts), so
 * such a scope is refused when a client is registered or a token requested, and grants nothing in
 * a token issued before.
 */
import type { SearchFilter } from '@concordia/fhir';
import { parseScopeCriteria } from './scope-criteria.ts';

export type ScopeContext = 'patient' | 'user' | 'system';

/** SMART v2 permissions: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export const PERMISSIONS: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

export interface ResourceScope {
  /** The scope as granted, e.g. `patient/Observation.rs?category=laboratory`. */
  raw: string;
  context: ScopeContext;
  /** A resource type, or `*` for every type. */
  resourceType: string;
  permissions: ReadonlySet<Permission>;
  /**
   * v2 query-parameter restriction (`?category=laboratory`): the scope covers only resources that
   * match these search parameters. Empty for an unrestricted scope.
   */
  query: readonly (readonly [string, string])[];
  /** `query` parsed as the search filters of `resourceType` (scope-criteria.ts); empty when `query` is. */
  filters: readonly SearchFilter[];
  /** Which grammar it was written in. */
  version: 1 | 2;
}

export interface LaunchScopes {
  /** `launch`: EHR launch with a launch token. */
  ehr: boolean;
  /** `launch/patient`: the app needs a patient chosen (standalone launch: a patient picker). */
  patient: boolean;
  /** `launch/encounter`. */
  encounter: boolean;
}

export interface ParsedScopes {
  resources: readonly ResourceScope[];
  openid: boolean;
  fhirUser: boolean;
  profile: boolean;
  offlineAccess: boolean;
  onlineAccess: boolean;
  launch: LaunchScopes;
  /** Well-formed scopes that are neither SMART resource scopes nor known identity scopes. */
  other: readonly string[];
  /** Scopes that look like resource scopes but are malformed (`patient/Observation.x`). */
  invalid: readonly string[];
}

const RESOURCE_SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.([^?]+)(?:\?(.*))?$/;
const V2_PERMISSIONS = /^c?r?u?d?s?$/;
const V1_PERMISSIONS: Record<string, Permission[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

/** Parses one resource scope; `undefined` when `scope` is not one (or is malformed). */
export function parseResourceScope(scope: string): ResourceScope | undefined {
  const match = RESOURCE_SCOPE.exec(scope);
  if (match === null) return undefined;
  const [, context, resourceType, letters, queryText] = match;
  if (context === undefined || resourceType === undefined || letters === undefined) return undefined;
  const v1 = V1_PERMISSIONS[letters];
  let version: 1 | 2;
  let permissions: Permission[];
  if (v1 !== undefined && queryText === undefined) {
    version = 1;
    permissions = v1;
  } else if (letters !== '' && V2_PERMISSIONS.test(letters)) {
    version = 2;
    permissions = PERMISSIONS.filter((permission) => letters.includes(permission));
  } else {
    return undefined;
  }
  const query = queryText === undefined ? [] : parseScopeQuery(queryText);
  if (query === undefined) return undefined;
  const criteria = query.length === 0 ? { filters: [] } : parseScopeCriteria(resourceType, query);
  if ('problem' in criteria) return undefined;
  return {
    raw: scope,
    context: contextOf(context),
    resourceType,
    permissions: new Set(permissions),
    query,
    filters: criteria.filters,
    version,
  };
}

function contextOf(text: string): ScopeContext {
  return text === 'patient' ? 'patient' : text === 'user' ? 'user' : 'system';
}

function parseScopeQuery(text: string): [string, string][] | undefined {
  if (text === '') return undefined;
  const pairs = [...new URLSearchParams(text)];
  return pairs.every(([name, value]) => name !== '' && value !== '') ? pairs : undefined;
}

/** Parses a space-separated scope string (the `scope` claim of a token). */
export function parseScopes(scope: string | readonly string[] | undefined): ParsedScopes {
  const names = typeof scope === 'string' ? scope.split(' ') : (scope ?? []);
  const resources: ResourceScope[] = [];
  const other: string[] = [];
  const invalid: string[] = [];
  const present = new Set<string>();
  for (const name of names) {
    if (name === '' || present.has(name)) continue;
    present.add(name);
    const resource = parseResourceScope(name);
    if (resource !== undefined) resources.push(resource);
    else if (/^(patient|user|system)\//.test(name)) invalid.push(name);
    else if (!IDENTITY_SCOPES.has(name)) other.push(name);
  }
  return {
    resources,
    openid: present.has('openid'),
    fhirUser: present.has('fhirUser'),
    profile: present.has('profile'),
    offlineAccess: present.has('offline_access'),
    onlineAccess: present.has('online_access'),
    launch: {
      ehr: present.has('launch'),
      patient: present.has('launch/patient'),
      encounter: present.has('launch/encounter'),
    },
    other,
    invalid,
  };
}

/** Scopes about identity and launch context that an authorization server understands itself. */
export const IDENTITY_SCOPES: ReadonlySet<string> = new Set([
  'openid',
  'fhirUser',
  'profile',
  'offline_access',
  'online_access',
  'launch',
  'launch/patient',
  'launch/encounter',
]);

/**
 * Whether `granted` covers everything `requested` asks for: same context (or a broader one is
 * NOT implied — `user/` never covers `patient/`), a type or `*`, a superset of permissions, and a
 * query restriction that is at most as wide. Used to bound a client's tokens by its registration.
 */
export function scopeCovers(granted: ResourceScope, requested: ResourceScope): boolean {
  if (granted.context !== requested.context) return false;
  if (granted.resourceType !== '*' && granted.resourceType !== requested.resourceType) return false;
  for (const permission of requested.permissions) if (!granted.permissions.has(permission)) return false;
  return granted.query.every(([name, value]) => requested.query.some(([n, v]) => n === name && v === value));
}

/**
 * The requested scopes that `allowed` permits: resource scopes covered by an allowed one, and
 * other scopes allowed by name. The rest are not granted (RFC 6749 section 3.3: the server may
 * grant fewer scopes than asked, and says so in the token response's `scope`).
 */
export function grantableScopes(requested: readonly string[], allowed: readonly string[]): string[] {
  const allowedResources = allowed.map(parseResourceScope).filter((scope) => scope !== undefined);
  const allowedNames = new Set(allowed);
  return requested.filter((name) => {
    if (allowedNames.has(name)) return true;
    const scope = parseResourceScope(name);
    return scope !== undefined && allowedResources.some((granted) => scopeCovers(granted, scope));
  });
}
