/**
 * The roles of DESIGN.md D6. A role says what kind of actor someone is; what they may reach is
 * decided by the access decision from the role, their relationships, consent and purpose (the
 * relationship-based part comes with the policy engine; today tokens are bounded by scopes).
 */
export const ROLES = [
  'family-doctor',
  'specialist',
  'nurse',
  'pharmacist',
  'emergency',
  'patient',
  'proxy',
  'statistician',
  'administrator',
  'system',
] as const;

export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return ROLES.some((role) => role === value);
}

/** Roles that reach clinical data or administer the system must sign in with a second factor. */
const MFA_ROLES: ReadonlySet<Role> = new Set([
  'family-doctor',
  'specialist',
  'nurse',
  'pharmacist',
  'emergency',
  'administrator',
]);

export function requiresMfa(roles: readonly Role[]): boolean {
  return roles.some((role) => MFA_ROLES.has(role));
}

/** Roles a person can hold; `system` belongs to client applications only. */
export function isPersonRole(role: Role): boolean {
  return role !== 'system';
}
