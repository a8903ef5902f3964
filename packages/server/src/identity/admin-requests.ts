/**
 * The admin API's requests and answers as data (admin-door.ts): a JSON body parsed once into the
 * input the directories take (users.ts `NewUser`, clients.ts `NewClient`), and the views of an
 * account and a client it answers with — never a password hash or a client secret's digest.
 */
import { isRole, type Role } from '../access/roles.ts';
import { CLIENT_AUTH_METHODS, type NewClient, type RegisteredClient } from './clients.ts';
import type { NewUser, User } from './users.ts';

/** A request body the admin API cannot use: 400 `invalid_request`. */
export class AdminInputError extends Error {
  override name = 'AdminInputError';
}

export function userView(user: User): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    roles: user.roles,
    ...(user.fhirUser !== undefined ? { fhirUser: user.fhirUser } : {}),
    ...(user.practitionerRole !== undefined ? { practitionerRole: user.practitionerRole } : {}),
    ...(user.organization !== undefined ? { organization: user.organization } : {}),
    mfaEnrolled: user.mfaEnrolled,
    ...(user.lockedUntil !== undefined ? { lockedUntil: user.lockedUntil } : {}),
    disabled: user.disabled,
    createdAt: user.createdAt,
  };
}

export function clientView(client: RegisteredClient): Record<string, unknown> {
  return { ...client };
}

/** The body of `POST /admin/users`, parsed once into the directory's input. */
export function newUser(body: unknown): NewUser {
  const fields = objectBody(body);
  const roles = stringList(fields, 'roles') ?? [];
  const unknownRole = roles.find((role) => !isRole(role));
  if (unknownRole !== undefined) throw new AdminInputError(`not a role: ${unknownRole}`);
  const displayName = optionalText(fields, 'displayName');
  const fhirUser = optionalText(fields, 'fhirUser');
  const practitionerRole = optionalText(fields, 'practitionerRole');
  const organization = optionalText(fields, 'organization');
  return {
    username: requiredText(fields, 'username'),
    password: requiredText(fields, 'password'),
    roles: roles.filter((role): role is Role => isRole(role)),
    ...(displayName !== undefined ? { displayName } : {}),
    ...(fhirUser !== undefined ? { fhirUser } : {}),
    ...(practitionerRole !== undefined ? { practitionerRole } : {}),
    ...(organization !== undefined ? { organization } : {}),
  };
}

/** The body of `POST /admin/clients` (the CLI's `clients add` options, by their metadata names). */
export function newClient(body: unknown): NewClient {
  const fields = objectBody(body);
  const kind = requiredText(fields, 'kind');
  if (kind !== 'backend' && kind !== 'confidential' && kind !== 'public')
    throw new AdminInputError('kind must be backend, confidential or public');
  const authText = optionalText(fields, 'authMethod');
  const authMethod = CLIENT_AUTH_METHODS.find((method) => method === authText);
  if (authText !== undefined && authMethod === undefined)
    throw new AdminInputError(`authMethod must be one of ${CLIENT_AUTH_METHODS.join(', ')}`);
  const jwks = fields.jwks;
  if (jwks !== undefined && !isJwks(jwks))
    throw new AdminInputError('jwks must be a JWK Set: { "keys": [ … ] }');
  const redirectUris = stringList(fields, 'redirectUris');
  const jwksUri = optionalText(fields, 'jwksUri');
  const organization = optionalText(fields, 'organization');
  const clientId = optionalText(fields, 'clientId');
  return {
    name: requiredText(fields, 'name'),
    kind,
    scopes: stringList(fields, 'scopes') ?? [],
    ...(authMethod !== undefined ? { authMethod } : {}),
    ...(redirectUris !== undefined ? { redirectUris } : {}),
    ...(jwks !== undefined ? { jwks } : {}),
    ...(jwksUri !== undefined ? { jwksUri } : {}),
    ...(organization !== undefined ? { organization } : {}),
    ...(clientId !== undefined ? { clientId } : {}),
  };
}

/** The body arrives unparsed (admin-door.ts), so that a malformed one is answered and audited too. */
function objectBody(body: unknown): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = typeof body === 'string' ? JSON.parse(body) : undefined;
  } catch {
    throw new AdminInputError('The body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new AdminInputError('Send a JSON object (Content-Type: application/json)');
  return Object.fromEntries(Object.entries(parsed));
}

function requiredText(fields: Record<string, unknown>, name: string): string {
  const value = optionalText(fields, name);
  if (value === undefined) throw new AdminInputError(`${name} is required`);
  return value;
}

function optionalText(fields: Record<string, unknown>, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AdminInputError(`${name} must be a string`);
  return value;
}

function stringList(fields: Record<string, unknown>, name: string): string[] | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string'))
    throw new AdminInputError(`${name} must be a list of strings`);
  return value;
}

function isJwks(value: unknown): value is { keys: Record<string, unknown>[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'keys' in value &&
    Array.isArray(value.keys) &&
    value.keys.every((key: unknown) => typeof key === 'object' && key !== null && !Array.isArray(key))
  );
}
