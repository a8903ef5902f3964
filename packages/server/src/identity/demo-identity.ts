/**
 * Demo sign-ins for `npm start` (`serve --demo`): one user per role, linked to the demo data set's
 * practitioners and a patient, and an administrative system client with `system/*.*`. Their
 * credentials are written to `<data dir>/demo-credentials.json` (mode 0600) and the users are
 * printed at start — the one place where secrets are shown on purpose, and only in demo mode.
 * Run again on the same data dir, it keeps what exists: passwords do not change under a user.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { systemContext } from '../access/request-context.ts';
import type { Role } from '../access/roles.ts';
import { ORGANIZATION_IDS, PRACTITIONERS } from '../demo/demo-directory.ts';
import type { IdentityDirectories } from './identity.ts';
import type { PatientDirectory } from './patient-picker.ts';
import { newTotpSecret } from './totp.ts';

export const DEMO_CREDENTIALS_FILE = 'demo-credentials.json';
export const DEMO_ADMIN_CLIENT_ID = 'demo-admin';
export const DEMO_ADMIN_SCOPE = 'system/*.*';

export interface DemoUser {
  username: string;
  password: string;
  role: Role;
  fhirUser?: string;
  /** Base32 TOTP secret for roles that sign in with a second factor. */
  totpSecret?: string;
}

export interface DemoCredentials {
  tokenEndpoint: string;
  fhirBase: string;
  adminClient: { client_id: string; client_secret: string; scope: string };
  users: DemoUser[];
}

interface DemoUserPlan {
  username: string;
  role: Role;
  practitioner?: string;
  organization?: keyof typeof ORGANIZATION_IDS;
  patient?: true;
}

const PLAN: DemoUserPlan[] = [
  {
    username: 'family.doctor',
    role: 'family-doctor',
    practitioner: 'demo-practitioner-1',
    organization: 'clinic',
  },
  {
    username: 'specialist',
    role: 'specialist',
    practitioner: 'demo-practitioner-4',
    organization: 'hospital',
  },
  { username: 'nurse', role: 'nurse', practitioner: 'demo-practitioner-3', organization: 'clinic' },
  { username: 'emergency', role: 'emergency', practitioner: 'demo-practitioner-5', organization: 'hospital' },
  { username: 'pharmacist', role: 'pharmacist' },
  { username: 'patient', role: 'patient', patient: true },
  { username: 'statistician', role: 'statistician' },
  { username: 'admin', role: 'administrator' },
];

export async function prepareDemoIdentity(options: {
  directories: IdentityDirectories;
  patients: PatientDirectory;
  dataDir: string;
  issuer: string;
  logger: Logger;
}): Promise<DemoCredentials> {
  const { users, clients } = options.directories;
  const path = join(options.dataDir, DEMO_CREDENTIALS_FILE);
  const previous = await readPrevious(path);
  const known = new Map((previous?.users ?? []).map((user) => [user.username, user]));

  const demoUsers: DemoUser[] = [];
  const [firstPatient] = (await options.patients.patients(systemContext('demo-identity'), {})).choices;
  for (const plan of PLAN) {
    const existing = await users.byUsername(plan.username);
    const kept = known.get(plan.username);
    if (existing !== undefined && kept !== undefined) {
      demoUsers.push(kept);
      continue;
    }
    if (existing !== undefined) continue; // made by someone else: not ours to show
    const fhirUser =
      plan.practitioner !== undefined
        ? `Practitioner/${plan.practitioner}`
        : plan.patient === true && firstPatient !== undefined
          ? `Patient/${firstPatient.id}`
          : undefined;
    if (plan.patient === true && fhirUser === undefined) continue;
    const password = `demo-${randomBytes(9).toString('base64url')}`;
    const practitioner = PRACTITIONERS.find((person) => person.id === plan.practitioner);
    const user = await users.add({
      username: plan.username,
      displayName:
        practitioner !== undefined ? `${practitioner.given.join(' ')} ${practitioner.family}` : plan.username,
      password,
      roles: [plan.role],
      ...(fhirUser !== undefined ? { fhirUser } : {}),
      ...(plan.practitioner !== undefined
        ? { practitionerRole: `PractitionerRole/${plan.practitioner}-role` }
        : {}),
      ...(plan.organization !== undefined
        ? { organization: `Organization/${ORGANIZATION_IDS[plan.organization]}` }
        : {}),
    });
    const demoUser: DemoUser = {
      username: plan.username,
      password,
      role: plan.role,
      ...(fhirUser !== undefined ? { fhirUser } : {}),
    };
    if (plan.role !== 'patient' && plan.role !== 'statistician') {
      const totpSecret = newTotpSecret();
      await users.setMfaSecret(user.id, totpSecret);
      demoUser.totpSecret = totpSecret;
    }
    demoUsers.push(demoUser);
  }

  let adminClient = previous?.adminClient;
  if (adminClient === undefined || (await clients.byId(adminClient.client_id)) === undefined) {
    await clients.remove(DEMO_ADMIN_CLIENT_ID);
    const registered = await clients.add({
      clientId: DEMO_ADMIN_CLIENT_ID,
      name: 'Demo administration client',
      kind: 'backend',
      scopes: [DEMO_ADMIN_SCOPE],
    });
    adminClient = {
      client_id: registered.client.clientId,
      client_secret: registered.clientSecret ?? '',
      scope: DEMO_ADMIN_SCOPE,
    };
  }
  const credentials: DemoCredentials = {
    tokenEndpoint: `${options.issuer}/oauth2/token`,
    fhirBase: `${options.issuer}/fhir`,
    adminClient,
    users: demoUsers,
  };
  await writeFile(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  printDemoUsers(options.logger, credentials, path);
  return credentials;
}

async function readPrevious(path: string): Promise<DemoCredentials | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Demo mode only: the sign-ins are meant to be read (never do this with real accounts). */
function printDemoUsers(logger: Logger, credentials: DemoCredentials, path: string): void {
  const lines = credentials.users.map(
    (user) =>
      `  ${user.role.padEnd(14)} ${user.username.padEnd(14)} password ${user.password}${user.totpSecret !== undefined ? '  (TOTP secret in the file)' : ''}`,
  );
  logger.info(
    `demo sign-ins (credentials, TOTP secrets and the admin client in ${path}):\n${lines.join('\n')}\n` +
      `  admin client   ${credentials.adminClient.client_id} (client_credentials, scope ${credentials.adminClient.scope})`,
  );
}
