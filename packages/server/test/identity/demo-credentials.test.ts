import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemoData } from '../../src/demo/load-demo-data.ts';
import { type DemoCredentials, prepareDemoIdentity } from '../../src/identity/demo-identity.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { testDatabases } from '../support/databases.ts';
import { json } from '../support/test-app.ts';
import { localPath } from './browser.ts';
import { basic, createIdentityTestApp, FORM, form, type IdentityTestApp } from './identity-app.ts';

describe.each(testDatabases())('demo sign-ins (serve --demo) on $name', (database) => {
  let t: IdentityTestApp;
  let credentials: DemoCredentials;

  beforeAll(async () => {
    t = await createIdentityTestApp(database);
    await loadDemoData(t.core, t.store);
    credentials = await prepareDemoIdentity({
      directories: t.identity,
      patients: t.identity.patients,
      dataDir: t.dataDir,
      issuer: t.identity.issuer,
      logger: createLogger(t.config),
    });
  }, 120_000);
  afterAll(() => t.close());

  it('writes demo-credentials.json (mode 0600) with the admin client and one user per role', async () => {
    const path = join(t.dataDir, 'demo-credentials.json');
    const written = JSON.parse(await readFile(path, 'utf8'));
    expect(written).toEqual(credentials);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(written.adminClient).toMatchObject({ client_id: 'demo-admin', scope: 'system/*.*' });
    expect(written.adminClient.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(written.users.map((user: { role: string }) => user.role)).toEqual([
      'family-doctor',
      'specialist',
      'nurse',
      'emergency',
      'pharmacist',
      'patient',
      'statistician',
      'administrator',
    ]);
    const doctor = written.users[0];
    expect(doctor).toMatchObject({
      fhirUser: 'Practitioner/demo-practitioner-1',
      totpSecret: expect.any(String),
    });
    expect(written.users[5].fhirUser).toMatch(/^Patient\//);
  });

  it('gets a token for the admin client at the token endpoint named in discovery, and reads everything with it', async () => {
    const discovery = json(
      (await t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).body,
    );
    expect(discovery.token_endpoint).toBe(credentials.tokenEndpoint);
    const { client_id, client_secret, scope } = credentials.adminClient;
    const response = await t.app.inject({
      method: 'POST',
      url: localPath(String(discovery.token_endpoint)),
      headers: { ...FORM, authorization: basic(client_id, client_secret) },
      payload: form({ grant_type: 'client_credentials', scope }),
    });
    expect(response.statusCode).toBe(200);
    const authorization = `Bearer ${String(json(response.body).access_token)}`;
    for (const url of ['/fhir/Patient?_count=1', '/fhir/AuditEvent', '/fhir/Observation?_count=1']) {
      const read = await t.app.inject({ method: 'GET', url, headers: { authorization } });
      expect(read.statusCode, url).toBe(200);
    }
  });

  it('keeps the same credentials when the demo starts again on the same data', async () => {
    const again = await prepareDemoIdentity({
      directories: t.identity,
      patients: t.identity.patients,
      dataDir: t.dataDir,
      issuer: t.identity.issuer,
      logger: createLogger(t.config),
    });
    expect(again).toEqual(credentials);
  });
});
