/**
 * The people who sign in: accounts with argon2id passwords, lockout after repeated failures,
 * TOTP enrolment, roles, and the FHIR resource each account stands for. Used by the login pages,
 * the token claims and the `concordia users` command.
 */
import { randomUUID } from 'node:crypto';
import { isRole, type Role } from '../access/roles.ts';
import type { Row, SqlExecutor } from '../store/database.ts';
import {
  readBoolean,
  readNumber,
  readOptionalNumber,
  readOptionalString,
  readString,
} from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import { decoyPasswordHash, hashPassword, passwordProblems, verifyPassword } from './passwords.ts';
import type { SecretBox } from './secret-box.ts';
import type { TokenRevocations } from './token-revocations.ts';
import { acceptTotp } from './totp.ts';

export interface User {
  id: string;
  username: string;
  displayName: string;
  roles: Role[];
  /** `Practitioner/…`, `Patient/…` or `RelatedPerson/…`. */
  fhirUser?: string;
  practitionerRole?: string;
  organization?: string;
  mfaEnrolled: boolean;
  failedLogins: number;
  lockedUntil?: string;
  disabled: boolean;
  createdAt: string;
}

export interface NewUser {
  username: string;
  displayName?: string;
  password: string;
  roles: Role[];
  fhirUser?: string;
  practitionerRole?: string;
  organization?: string;
}

export class UserError extends Error {
  override name = 'UserError';
}

export interface LockoutPolicy {
  /** Failed sign-ins in a row that lock the account. */
  maxFailures: number;
  /** How long it stays locked. */
  lockoutSeconds: number;
}

export type PasswordCheck =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid' | 'locked' | 'disabled' };

const FHIR_USER = /^(Practitioner|Patient|RelatedPerson|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/;

export class UserDirectory {
  constructor(
    private readonly db: SqlExecutor,
    private readonly box: SecretBox,
    private readonly lockout: LockoutPolicy,
    private readonly revocations: TokenRevocations,
  ) {}

  async add(input: NewUser): Promise<User> {
    const problems = newUserProblems(input);
    if (problems.length > 0) throw new UserError(problems.join('; '));
    const id = randomUUID();
    const rows = await this.db.query(
      sql`insert into identity_user (id, username, display_name, password_hash, roles, fhir_user,
            practitioner_role, organization)
          values (${id}, ${input.username}, ${input.displayName ?? input.username},
            ${await hashPassword(input.password)}, ${input.roles}, ${input.fhirUser ?? null},
            ${input.practitionerRole ?? null}, ${input.organization ?? null})
          on conflict (username) do nothing
          returning *`,
    );
    const [row] = rows;
    if (row === undefined) throw new UserError(`A user named "${input.username}" already exists`);
    return toUser(row);
  }

  async list(): Promise<User[]> {
    return (await this.db.query(sql`select * from identity_user order by username`)).map(toUser);
  }

  async byId(id: string): Promise<User | undefined> {
    const [row] = await this.db.query(sql`select * from identity_user where id = ${id}`);
    return row === undefined ? undefined : toUser(row);
  }

  async byUsername(username: string): Promise<User | undefined> {
    const [row] = await this.db.query(sql`select * from identity_user where username = ${username}`);
    return row === undefined ? undefined : toUser(row);
  }

  /** Disables (or enables again) an account; disabling also signs it out everywhere. */
  async setDisabled(username: string, disabled: boolean): Promise<boolean> {
    const [row] = await this.db.query(
      sql`update identity_user set disabled = ${disabled} where username = ${username} returning id`,
    );
    if (row === undefined) return false;
    if (disabled) await this.#endSessions(readString(row, 'id'));
    return true;
  }

  /**
   * Signs a user out everywhere: their sessions, grants and refresh tokens are deleted, and the
   * access tokens they hold are refused from the next request (token-revocations.ts).
   */
  async signOut(username: string): Promise<boolean> {
    const user = await this.byUsername(username);
    if (user === undefined) return false;
    await this.#endSessions(user.id);
    return true;
  }

  async #endSessions(userId: string): Promise<void> {
    await this.db.query(
      sql`delete from identity_oidc_model where payload::jsonb ->> 'accountId' = ${userId}`,
    );
    await this.revocations.revoke('user', userId);
  }

  /** Forgets the TOTP secret: the user enrols again at the next sign-in. Also lifts a lockout. */
  async resetMfa(username: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`update identity_user set mfa_secret = null, mfa_enrolled_at = null, mfa_last_step = null,
            failed_logins = 0, locked_until = null
          where username = ${username} returning id`,
    );
    return rows.length > 0;
  }

  async setPassword(username: string, password: string): Promise<void> {
    const problems = passwordProblems(password, username);
    if (problems.length > 0) throw new UserError(`The password ${problems.join('; ')}`);
    const rows = await this.db.query(
      sql`update identity_user set password_hash = ${await hashPassword(password)},
            password_changed_at = now(), failed_logins = 0, locked_until = null
          where username = ${username} returning id`,
    );
    if (rows.length === 0) throw new UserError(`No user named "${username}"`);
  }

  /**
   * Checks a password. `maxFailures` wrong passwords in a row lock the account for
   * `lockoutSeconds`; while locked even the right password is refused, and a locked, disabled or
   * unknown account answers in the same time as a wrong password.
   */
  async checkPassword(username: string, password: string): Promise<PasswordCheck> {
    const [row] = await this.db.query(
      sql`select *, coalesce(locked_until > now(), false) as locked from identity_user where username = ${username}`,
    );
    if (row === undefined) {
      await verifyPassword(await decoyPasswordHash(), password);
      return { ok: false, reason: 'invalid' };
    }
    const valid = await verifyPassword(readString(row, 'password_hash'), password);
    const user = toUser(row);
    if (user.disabled) return { ok: false, reason: 'disabled' };
    if (readBoolean(row, 'locked')) return { ok: false, reason: 'locked' };
    if (!valid) {
      const [updated] = await this.db.query(
        sql`update identity_user set failed_logins = failed_logins + 1,
              locked_until = case when failed_logins + 1 >= ${this.lockout.maxFailures}
                then now() + make_interval(secs => ${this.lockout.lockoutSeconds}) else locked_until end
            where id = ${user.id}
            returning coalesce(locked_until > now(), false) as locked`,
      );
      return {
        ok: false,
        reason: updated !== undefined && readBoolean(updated, 'locked') ? 'locked' : 'invalid',
      };
    }
    await this.db.query(
      sql`update identity_user set failed_logins = 0, locked_until = null where id = ${user.id}`,
    );
    return { ok: true, user: { ...user, failedLogins: 0 } };
  }

  /** Stores a TOTP secret after the user proved they hold it with a valid code. */
  async enrolMfa(userId: string, secret: string, code: string): Promise<boolean> {
    const step = await acceptTotp(secret, code);
    if (step === undefined) return false;
    await this.db.query(
      sql`update identity_user set mfa_secret = ${this.box.seal(secret)}, mfa_enrolled_at = now(),
            mfa_last_step = ${step}
          where id = ${userId}`,
    );
    return true;
  }

  /** Sets a TOTP secret without a code (demo users, whose secrets are printed). */
  async setMfaSecret(userId: string, secret: string): Promise<void> {
    await this.db.query(
      sql`update identity_user set mfa_secret = ${this.box.seal(secret)}, mfa_enrolled_at = now()
          where id = ${userId}`,
    );
  }

  /**
   * Checks a TOTP code of an enrolled user; each code is accepted once. A wrong code counts as a
   * failed sign-in for the lockout.
   */
  async checkMfa(userId: string, code: string): Promise<boolean> {
    const [row] = await this.db.query(
      sql`select mfa_secret, mfa_last_step from identity_user where id = ${userId}`,
    );
    const sealed = row === undefined ? undefined : readOptionalString(row, 'mfa_secret');
    if (row === undefined || sealed === undefined) return false;
    const lastStep = readOptionalNumber(row, 'mfa_last_step');
    const step = await acceptTotp(this.box.open(sealed), code, lastStep);
    if (step === undefined) {
      await this.db.query(
        sql`update identity_user set failed_logins = failed_logins + 1,
              locked_until = case when failed_logins + 1 >= ${this.lockout.maxFailures}
                then now() + make_interval(secs => ${this.lockout.lockoutSeconds}) else locked_until end
            where id = ${userId}`,
      );
      return false;
    }
    // Only a newer step moves forward: two requests with the same code cannot both succeed.
    const updated = await this.db.query(
      sql`update identity_user set mfa_last_step = ${step}, failed_logins = 0
          where id = ${userId} and (mfa_last_step is null or mfa_last_step < ${step}) returning id`,
    );
    return updated.length > 0;
  }
}

export function newUserProblems(input: NewUser): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9._@-]{1,63}$/.test(input.username)) {
    problems.push('the user name must be 2–64 characters: lower-case letters, digits, . _ @ -');
  }
  if (input.roles.length === 0) problems.push('a user needs at least one role');
  if (input.roles.includes('system')) problems.push('the system role belongs to client applications');
  for (const problem of passwordProblems(input.password, input.username))
    problems.push(`the password ${problem}`);
  if (input.fhirUser !== undefined && !FHIR_USER.test(input.fhirUser)) {
    problems.push('fhirUser must be a reference such as Practitioner/123 or Patient/456');
  }
  const isPatientRole = input.roles.includes('patient') || input.roles.includes('proxy');
  if (input.roles.includes('patient') && !input.fhirUser?.startsWith('Patient/')) {
    problems.push('a patient account must be linked to its Patient (fhirUser Patient/…)');
  }
  if (input.roles.includes('proxy') && !input.fhirUser?.startsWith('RelatedPerson/')) {
    problems.push('a proxy account must be linked to a RelatedPerson (fhirUser RelatedPerson/…)');
  }
  if (isPatientRole && input.roles.some((role) => role !== 'patient' && role !== 'proxy')) {
    problems.push('patient and proxy accounts cannot hold staff roles');
  }
  return problems;
}

function toUser(row: Row): User {
  const roles = row.roles;
  const fhirUser = readOptionalString(row, 'fhir_user');
  const practitionerRole = readOptionalString(row, 'practitioner_role');
  const organization = readOptionalString(row, 'organization');
  const lockedUntil = readOptionalString(row, 'locked_until');
  return {
    id: readString(row, 'id'),
    username: readString(row, 'username'),
    displayName: readString(row, 'display_name'),
    roles: Array.isArray(roles)
      ? roles.filter((role): role is Role => typeof role === 'string' && isRole(role))
      : [],
    ...(fhirUser !== undefined ? { fhirUser } : {}),
    ...(practitionerRole !== undefined ? { practitionerRole } : {}),
    ...(organization !== undefined ? { organization } : {}),
    mfaEnrolled: readOptionalString(row, 'mfa_enrolled_at') !== undefined,
    failedLogins: readNumber(row, 'failed_logins'),
    ...(lockedUntil !== undefined ? { lockedUntil } : {}),
    disabled: readBoolean(row, 'disabled'),
    createdAt: readString(row, 'created_at'),
  };
}
