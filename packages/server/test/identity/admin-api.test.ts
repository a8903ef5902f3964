import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_CLIENT_ID, DEMO_ADMIN_SCOPE } from '../../src/identity/demo-identity.ts';
import { testDatabases } from '../support/databases.ts';
import { json } from '../support/test-app.ts';
import {
  clientCredentialsToken,
  createIdentityTestApp,
  type IdentityTestApp,
  signedAccessToken,
} from './identity-app.ts';

describe.each(testDatabases())('the admin API on $name', (database) => {
  let t: IdentityTestApp;
  let admin: string;
  let clinician: string;

  beforeAll(async () => {
    t = await createIdentityTestApp(database);
    const administrator = await t.identity.users.add({
      username: 'admin.oksana',
      password: 'a long enough secret',
      roles: ['administrator'],
    });
    admin = `Bearer ${await signedAccessToken(t, { sub: administrator.id, roles: ['administrator'], scope: 'openid' })}`;
    const doctor = await t.identity.users.add({
      username: 'dr.maria',
      password: 'a long enough secret',
      roles: ['family-doctor'],
      fhirUser: 'Practitioner/p-1',
    });
    clinician = `Bearer ${await signedAccessToken(t, { sub: doctor.id, roles: ['family-doctor'], scope: 'user/*.rs' })}`;
  });
  afterAll(() => t.close());

  const call = (method: 'GET' | 'POST', url: string, authorization?: string, body?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: {
        ...(authorization !== undefined ? { authorization } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });

  const lastCall = () => t.adminCalls.at(-1);

  it('refuses a request without a token with 401 and an RFC 6750 challenge, and audits it', async () => {
    const response = await call('GET', '/admin/users');
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    expect(json(response.body)).toMatchObject({ error: 'invalid_request' });
    expect(lastCall()).toMatchObject({
      operation: 'user-list',
      status: 401,
      ctx: { principal: { kind: 'anonymous' } },
    });
  });

  it("refuses a clinician's token with 403 (DESIGN.md D6: administration is the administrator's), and audits it", async () => {
    const response = await call('POST', '/admin/users/dr.maria/disable', clinician);
    expect(response.statusCode).toBe(403);
    expect(json(response.body)).toEqual({
      error: 'access_denied',
      error_description: 'The admin API is for users with the administrator role',
    });
    expect(lastCall()).toMatchObject({ operation: 'user-disable', status: 403, action: 'U' });
    expect((await t.identity.users.byUsername('dr.maria'))?.disabled).toBe(false);
  });

  it('refuses a revoked or foreign token with 401 invalid_token (RFC 6750 §3.1)', async () => {
    const response = await call('GET', '/admin/clients', 'Bearer not.a.token');
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('lets an administrator create, list, disable, re-enable and reset the MFA of users', async () => {
    const created = await call('POST', '/admin/users', admin, {
      username: 'nurse.iryna',
      password: 'a long enough secret',
      roles: ['nurse'],
      displayName: 'Iryna Kovalenko',
      fhirUser: 'Practitioner/p-7',
      organization: 'Organization/clinic-1',
    });
    expect(created.statusCode).toBe(201);
    const user = json(created.body);
    expect(user).toMatchObject({
      username: 'nurse.iryna',
      roles: ['nurse'],
      fhirUser: 'Practitioner/p-7',
      mfaEnrolled: false,
      disabled: false,
    });
    expect(created.body).not.toContain('password');
    expect(lastCall()).toMatchObject({
      operation: 'user-create',
      action: 'C',
      status: 201,
      description: 'created user nurse.iryna (nurse)',
      ctx: { principal: { kind: 'user', roles: ['administrator'] } },
    });

    const list = json((await call('GET', '/admin/users', admin)).body);
    expect(list.users).toContainEqual(expect.objectContaining({ username: 'nurse.iryna' }));

    // The same checks as `concordia users add` (users.ts): a clear 400, nothing created.
    const weak = await call('POST', '/admin/users', admin, {
      username: 'x.y',
      password: 'short',
      roles: ['nurse'],
    });
    expect(weak.statusCode).toBe(400);
    expect(json(weak.body).error_description).toContain('password');
    const unknownRole = await call('POST', '/admin/users', admin, {
      username: 'x.z',
      password: 'a long enough secret',
      roles: ['superuser'],
    });
    expect(json(unknownRole.body)).toEqual({
      error: 'invalid_request',
      error_description: 'not a role: superuser',
    });

    const malformed = await t.app.inject({
      method: 'POST',
      url: '/admin/users',
      headers: { authorization: admin, 'content-type': 'application/json' },
      payload: '{"username":',
    });
    expect(json(malformed.body)).toEqual({
      error: 'invalid_request',
      error_description: 'The body is not valid JSON',
    });
    expect(lastCall()).toMatchObject({ operation: 'user-create', status: 400 });

    // Disabling refuses the user's tokens on the FHIR door from the next request.
    const token = `Bearer ${await signedAccessToken(t, { sub: String(user.id), roles: ['nurse'], scope: 'user/*.rs' })}`;
    const before = await t.app.inject({
      method: 'GET',
      url: '/fhir/Patient',
      headers: { authorization: token },
    });
    expect(before.statusCode).not.toBe(401);
    const disabled = await call('POST', '/admin/users/nurse.iryna/disable', admin);
    expect(disabled.statusCode).toBe(200);
    expect(json(disabled.body).disabled).toBe(true);
    const after = await t.app.inject({
      method: 'GET',
      url: '/fhir/Patient',
      headers: { authorization: token },
    });
    expect(after.statusCode).toBe(401);
    expect(after.headers['www-authenticate']).toContain('error="invalid_token"');

    expect(json((await call('POST', '/admin/users/nurse.iryna/enable', admin)).body).disabled).toBe(false);
    expect((await call('POST', '/admin/users/nurse.iryna/reset-mfa', admin)).statusCode).toBe(200);
    expect((await call('POST', '/admin/users/nurse.iryna/sign-out', admin)).statusCode).toBe(200);
    const missing = await call('POST', '/admin/users/nobody/disable', admin);
    expect(missing.statusCode).toBe(404);
    expect(json(missing.body).error_description).toBe('No user named "nobody"');
  });

  it('lets an administrator register clients with a secret or a JWKS, rotate the secret and disable them', async () => {
    const created = await call('POST', '/admin/clients', admin, {
      name: 'Lab system',
      kind: 'backend',
      scopes: ['system/Observation.rs'],
    });
    expect(created.statusCode).toBe(201);
    const client = json(created.body);
    const clientId = String(client.clientId);
    const clientSecret = String(client.clientSecret);
    expect(client).toMatchObject({ kind: 'backend', authMethod: 'client_secret_basic', disabled: false });
    expect(typeof client.clientSecret).toBe('string');
    // The secret is shown once: neither the audit nor a listing repeats it.
    expect(JSON.stringify(t.adminCalls)).not.toContain(clientSecret);
    const listed = await call('GET', '/admin/clients', admin);
    expect(listed.body).not.toContain(clientSecret);

    const first = await clientCredentialsToken(t.app, clientId, clientSecret, 'system/Observation.rs');
    expect(first.status).toBe(200);
    const rotated = await call('POST', `/admin/clients/${clientId}/rotate-secret`, admin);
    expect(rotated.statusCode).toBe(200);
    const secret = String(json(rotated.body).clientSecret);
    expect(secret).not.toBe(clientSecret);
    const oldSecret = await clientCredentialsToken(t.app, clientId, clientSecret, 'system/Observation.rs');
    expect(oldSecret.body.error).toBe('invalid_client');
    const oldToken = await t.app.inject({
      method: 'GET',
      url: '/fhir/Observation',
      headers: { authorization: `Bearer ${String(first.body.access_token)}` },
    });
    expect(oldToken.statusCode).toBe(401);

    expect((await call('POST', `/admin/clients/${clientId}/disable`, admin)).statusCode).toBe(200);
    const whileDisabled = await clientCredentialsToken(t.app, clientId, secret, 'system/Observation.rs');
    expect(whileDisabled.body.error).toBe('invalid_client');
    expect(lastCall()).toMatchObject({ area: 'clients', operation: 'client-disable', status: 200 });

    const { publicKey } = await generateKeyPair('ES384');
    const keyed = await call('POST', '/admin/clients', admin, {
      name: 'Bulk export',
      kind: 'backend',
      scopes: ['system/*.rs'],
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384' }] },
    });
    expect(keyed.statusCode).toBe(201);
    expect(json(keyed.body)).toMatchObject({ authMethod: 'private_key_jwt' });
    expect(json(keyed.body).clientSecret).toBeUndefined();

    const noSecret = await call('POST', `/admin/clients/${json(keyed.body).clientId}/rotate-secret`, admin);
    expect(noSecret.statusCode).toBe(400);
    expect(json(noSecret.body).error_description).toContain('private_key_jwt');
  });

  it('admits the demo administration client, and no other client', async () => {
    const demo = await t.identity.clients.add({
      clientId: DEMO_ADMIN_CLIENT_ID,
      name: 'Demo administration client',
      kind: 'backend',
      scopes: [DEMO_ADMIN_SCOPE],
    });
    const token = await clientCredentialsToken(
      t.app,
      DEMO_ADMIN_CLIENT_ID,
      demo.clientSecret ?? '',
      'system/*.rs',
    );
    const allowed = await call('GET', '/admin/clients', `Bearer ${String(token.body.access_token)}`);
    expect(allowed.statusCode).toBe(200);
    expect(lastCall()).toMatchObject({
      status: 200,
      ctx: { principal: { kind: 'client', id: DEMO_ADMIN_CLIENT_ID } },
    });

    const other = await t.identity.clients.add({ name: 'Other', kind: 'backend', scopes: ['system/*.rs'] });
    const otherToken = await clientCredentialsToken(
      t.app,
      other.client.clientId,
      other.clientSecret ?? '',
      'system/*.rs',
    );
    const refused = await call('GET', '/admin/clients', `Bearer ${String(otherToken.body.access_token)}`);
    expect(refused.statusCode).toBe(403);
  });
});
