/**
 * The real application (buildComponents, identity, FHIR door, job worker) on a fresh database with
 * `CONCORDIA_AUTH=required`, for the access decision tests, and a sign-in that drives the SMART
 * authorization code flow with PKCE through the real login, MFA and consent pages to get a real
 * access token for a user of any role.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FhirResource } from '@concordia/fhir';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { Role } from '../../src/access/roles.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { FhirCore } from '../../src/fhir/interaction.ts';
import { createIdentity, type Identity } from '../../src/identity/identity.ts';
import { corePatientDirectory } from '../../src/identity/patient-picker.ts';
import { currentTotp } from '../../src/identity/totp.ts';
import type { JobWorker } from '../../src/jobs/job-worker.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { formAction, formField, location, TestBrowser } from '../identity/browser.ts';
import { clientCredentialsToken, FHIR_BASE, FORM, form } from '../identity/identity-app.ts';
import type { TestDatabase } from '../support/databases.ts';

const REDIRECT_URI = 'http://app.test/callback';
const PASSWORD = 'correct horse battery staple';
export const USER_SCOPE = 'openid fhirUser user/*.cruds';
/** Patients and proxies sign in for one record: `patient/` scopes only (identity/interaction-routes.ts). */
export const PATIENT_SCOPE = 'openid fhirUser launch/patient patient/*.cruds';

export interface SignIn {
  username: string;
  roles: Role[];
  fhirUser?: string;
  organization?: string;
  /** Default USER_SCOPE. */
  scope?: string;
  /** The patient picked on the consent page when the scope asks for `launch/patient`. */
  launchPatient?: string;
}

export interface AccessTestApp {
  app: FastifyInstance;
  core: FhirCore;
  store: ResourceStore;
  identity: Identity;
  /** Stores resources with their ids as the server itself (no access decision). */
  put(resources: readonly FhirResource[]): Promise<void>;
  /**
   * Stores resources straight through the store (index and compartment rows, no write hooks):
   * for data whose write hooks are not what a test is about.
   */
  putStored(resources: readonly (FhirResource & { id: string })[]): Promise<void>;
  /** A bearer token of a new user with `roles`, signed in through the authorization code flow. */
  signIn(user: SignIn): Promise<string>;
  /** A bearer token of a new backend client (client credentials). */
  clientToken(options: { name: string; scopes: string[]; organization?: string }): Promise<string>;
  close(): Promise<void>;
}

/** `env`: settings beside the defaults below, e.g. `CONCORDIA_ACCESS_HIDDEN`. */
export async function createAccessTestApp(
  database: TestDatabase,
  env: Record<string, string> = {},
): Promise<AccessTestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'concordia-access-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONCORDIA_BASE_URL: 'http://fhir.test',
    CONCORDIA_DATA_DIR: dataDir,
    CONCORDIA_AUTH: 'required',
    ...env,
  });
  const db = await database.create();
  const logger = createLogger(config);
  const components = await buildComponents(db, config, logger);
  const { store, core } = components;
  const worker: JobWorker = components.worker;
  const identity = await createIdentity({ config, db, patients: corePatientDirectory(core) });
  const app = await buildApp({ config, store, core, logger, metrics: createMetrics(), identity });
  await app.ready();
  worker.start();
  const { client } = await identity.clients.add({
    name: 'Access matrix app',
    kind: 'public',
    redirectUris: [REDIRECT_URI],
    scopes: [...new Set([...USER_SCOPE.split(' '), ...PATIENT_SCOPE.split(' ')])],
  });

  const put = (resources: readonly FhirResource[]) => putResources(core, 'access-test', resources);

  async function putStored(resources: readonly (FhirResource & { id: string })[]): Promise<void> {
    await store.transact(systemContext('access-test'), async (tx) => {
      for (const resource of resources)
        await tx.apply(systemContext('access-test'), { kind: 'write', method: 'PUT', resource });
    });
  }

  async function signIn({ scope = USER_SCOPE, launchPatient, ...user }: SignIn): Promise<string> {
    await identity.users.add({ ...user, password: PASSWORD });
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const browser = new TestBrowser(app);
    let step = await browser.get(
      `/oauth2/authorize?${form({
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: REDIRECT_URI,
        scope,
        state: 'access',
        aud: FHIR_BASE,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      })}`,
    );
    for (let hops = 0; !location(step).startsWith(REDIRECT_URI); hops++) {
      expect(hops).toBeLessThan(12);
      const page = await browser.get(location(step));
      if (page.statusCode !== 200) {
        step = page;
        continue;
      }
      if (page.body.includes('<h1>Sign in</h1>')) {
        step = await browser.post(formAction(page.body), {
          csrf: formField(page.body, 'csrf'),
          username: user.username,
          password: PASSWORD,
        });
        if (step.statusCode === 200) {
          // TOTP enrolment: the page shows the new secret; answer with its current code.
          const secret = /<code>([A-Z2-7]+)<\/code>/.exec(step.body)?.[1] ?? '';
          expect(secret).not.toBe('');
          step = await browser.post(formAction(step.body), {
            csrf: formField(step.body, 'csrf'),
            code: await currentTotp(secret),
          });
        }
        continue;
      }
      expect(page.body).toContain('Allow access?');
      step = await browser.post(formAction(page.body), {
        csrf: formField(page.body, 'csrf'),
        decision: 'allow',
        ...(launchPatient !== undefined ? { patient: launchPatient } : {}),
      });
    }
    const code = new URL(location(step)).searchParams.get('code') ?? '';
    const token = await app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: FORM,
      payload: form({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        client_id: client.clientId,
        code_verifier: verifier,
      }),
    });
    expect(token.statusCode, token.body).toBe(200);
    return `Bearer ${String(JSON.parse(token.body).access_token)}`;
  }

  async function clientToken(options: {
    name: string;
    scopes: string[];
    organization?: string;
  }): Promise<string> {
    const { client: backend, clientSecret } = await identity.clients.add({
      name: options.name,
      kind: 'backend',
      scopes: options.scopes,
      ...(options.organization !== undefined ? { organization: options.organization } : {}),
    });
    const { status, body } = await clientCredentialsToken(
      app,
      backend.clientId,
      clientSecret ?? '',
      options.scopes.join(' '),
    );
    expect(status).toBe(200);
    return `Bearer ${String(body.access_token)}`;
  }

  return {
    app,
    core,
    store,
    identity,
    put,
    putStored,
    signIn,
    clientToken,
    async close() {
      await app.close();
      await worker.stop();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stores each resource by id through the core as the system (setting up a scenario), one PUT each. */
export async function putResources(
  core: FhirCore,
  requestId: string,
  resources: readonly FhirResource[],
): Promise<void> {
  for (const resource of resources) {
    const response = await core.handle(systemContext(requestId), {
      method: 'PUT',
      path: `${resource.resourceType}/${String(resource.id)}`,
      query: [],
      headers: {},
      body: resource,
    });
    expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
  }
}
