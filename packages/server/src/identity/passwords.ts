/**
 * Passwords: argon2id (RFC 9106) through `@node-rs/argon2`, and a policy after NIST SP 800-63B
 * §5.1.1.2 — length rather than composition rules, and no password that is known to be common or
 * that contains the user name.
 */
import { hash, verify } from '@node-rs/argon2';

/** RFC 9106 §4 second recommended option (64 MiB, 3 passes), one lane: the machine has few cores. */
// `Algorithm` is an ambient const enum, which isolated modules cannot read: 2 is `Argon2id`.
const ARGON2ID = 2;
const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 65_536, timeCost: 3, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

const COMMON_PASSWORDS = new Set([
  'password1234',
  'passwordpassword',
  '123456789012',
  'qwertyuiopas',
  'administrator',
  'letmeinletmein',
  'welcome12345',
  'iloveyou1234',
  'changeme1234',
  'concordia123',
  'concordia1234',
]);

/** Problems with a new password, empty when it is acceptable. */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters long`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`must be at most ${PASSWORD_MAX_LENGTH} characters long`);
  const lower = password.toLowerCase();
  if (username.length >= 3 && lower.includes(username.toLowerCase()))
    problems.push('must not contain the user name');
  if (COMMON_PASSWORDS.has(lower) || /^(.)\1*$/.test(password)) problems.push('is too common or too simple');
  return problems;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** A hash to verify against when the user does not exist, so both cases take the same time. */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword('decoy password for unknown users');
  return decoyHash;
}
