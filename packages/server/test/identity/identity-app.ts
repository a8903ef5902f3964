/**
 * The real application with its authorization server, on a fresh database, for the identity and
 * access tests: store, core, FHIR door, OAuth door — nothing mocked. Helpers drive the token
 * endpoint the way a client does, through HTTP (`inject`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexResource } from '@concordia/fhir';
import type { FastifyInstance } from 'fastify';
import { importJWK, SignJWT } from 'jose';
import { createAccessRowFilter } from '../../src/access/access-policy.ts';
import { buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createFhirCore } from '../../src/fhir/core.ts';
import type { FhirCore } from '../../src/fhir/interaction.ts';
import type { AdminCall } from '../../src/identity/admin-audit.ts';
import { capabilitySecurity } from '../../src/identity/capability-security.ts';
import { createIdentity, type Identity } from '../../src/identity/identity.ts';
import { corePatientDirectory } from '../../src/identity/patient-picker.ts';
import { activeSigningKeys, TOKEN_SIGNING_ALG } from '../../src/identity/signing-keys.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Database } from '../../src/store/database.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { createResourceStore } from '../../src/store/resource-store.ts';
import type { TestDatabase } from '../support/databases.ts';

export const BASE_URL = 'http://fhir.test';
export const FHIR_BASE = `${BASE_URL}/fhir`;
export const TOKEN_ENDPOINT = `${BASE_URL}/oauth2/token`;

export interface IdentityTestApp {
  app: FastifyInstance;
  identity: Identity;
  core: FhirCore;
  store: ResourceStore;
  db: Database;
  config: Config;
  dataDir: string;
  /** Every admin API call, as the audit received it (identity/admin-audit.ts). */
  adminCalls: AdminCall[];
  close(): Promise<void>;
}

export async function createIdentityTestApp(
  database: TestDatabase,
  env: Record<string, string> = {},
): Promise<IdentityTestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'concordia-identity-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONCORDIA_BASE_URL: BASE_URL,
    CONCORDIA_DATA_DIR: dataDir,
    CONCORDIA_AUTH: 'required',
    ...env,
  });
  const db = await database.create();
  const store = createResourceStore(db, indexResource, { rowFilter: createAccessRowFilter() });
  const core = createFhirCore({
    store,
    config,
    software: { name: 'Concordia', version: 'test', releaseDate: '2026-11-24' },
    security: capabilitySecurity(config),
  });
  const adminCalls: AdminCall[] = [];
  const identity = await createIdentity({
    config,
    db,
    patients: corePatientDirectory(core),
    adminAudit: {
      async record(call) {
        adminCalls.push(call);
      },
    },
  });
  const app = await buildApp({
    config,
    store,
    core,
    identity,
    logger: createLogger(config),
    metrics: createMetrics(),
  });
  await app.ready();
  return {
    app,
    identity,
    core,
    store,
    db,
    config,
    dataDir,
    adminCalls,
    async close() {
      await app.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function form(values: Record<string, string>): string {
  return new URLSearchParams(values).toString();
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** authorization_code with PKCE for a public client; returns the parsed token response. */
export async function authorizationCodeToken(
  app: FastifyInstance,
  grant: { code: string; verifier: string; clientId: string; redirectUri: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: FORM,
    payload: form({
      grant_type: 'authorization_code',
      code: grant.code,
      redirect_uri: grant.redirectUri,
      client_id: grant.clientId,
      code_verifier: grant.verifier,
    }),
  });
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

/** client_credentials with client_secret_basic; returns the parsed token response. */
export async function clientCredentialsToken(
  app: FastifyInstance,
  clientId: string,
  secret: string,
  scope: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { ...FORM, authorization: basic(clientId, secret) },
    payload: form({ grant_type: 'client_credentials', scope }),
  });
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

/**
 * An access token signed with the server's own signing key, shaped as the authorization server
 * issues them (RFC 9068): for tests about what the doors do with a user's token, without driving
 * the sign-in pages and a second factor for each user.
 */
export async function signedAccessToken(
  t: IdentityTestApp,
  claims: { sub: string; roles: string[]; scope: string } & Record<string, unknown>,
  lifetimeSeconds = 300,
): Promise<string> {
  const [key] = await activeSigningKeys(t.db, t.identity.box);
  if (key === undefined) throw new Error('the server has no signing key');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: 'test-app', ...claims })
    .setProtectedHeader({ alg: TOKEN_SIGNING_ALG, typ: 'at+jwt', kid: key.kid })
    .setIssuer(BASE_URL)
    .setAudience(FHIR_BASE)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSeconds)
    .setJti(randomUUID())
    .sign(await importJWK(key.privateJwk, TOKEN_SIGNING_ALG));
}
