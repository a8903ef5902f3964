import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenRevocations } from '../../src/identity/token-revocations.ts';
import { testDatabases } from '../support/databases.ts';
import { json } from '../support/test-app.ts';
import {
  BASE_URL,
  basic,
  clientCredentialsToken,
  createIdentityTestApp,
  FHIR_BASE,
  FORM,
  form,
  type IdentityTestApp,
  signedAccessToken,
} from './identity-app.ts';

describe.each(testDatabases())('access-token introspection and early revocation on $name', (database) => {
  let t: IdentityTestApp;
  let resourceServer: string;

  beforeAll(async () => {
    t = await createIdentityTestApp(database);
    const server = await t.identity.clients.add({
      name: 'Resource server',
      kind: 'backend',
      scopes: ['system/Patient.rs'],
    });
    resourceServer = basic(server.client.clientId, server.clientSecret ?? '');
  });
  afterAll(() => t.close());

  async function backendClient(name: string): Promise<{ clientId: string; secret: string }> {
    const { client, clientSecret } = await t.identity.clients.add({
      name,
      kind: 'backend',
      scopes: ['system/*.rs'],
    });
    return { clientId: client.clientId, secret: clientSecret ?? '' };
  }

  async function tokenOf(client: { clientId: string; secret: string }): Promise<string> {
    const { status, body } = await clientCredentialsToken(
      t.app,
      client.clientId,
      client.secret,
      'system/*.rs',
    );
    expect(status).toBe(200);
    return String(body.access_token);
  }

  const search = (token: string) =>
    t.app.inject({ method: 'GET', url: '/fhir/Patient', headers: { authorization: `Bearer ${token}` } });

  /** Introspection as the resource server, or as `authorization` says (`null`: no credentials). */
  const introspect = async (token: string, authorization: string | null = resourceServer) =>
    t.app.inject({
      method: 'POST',
      url: '/oauth2/introspect',
      headers: { ...FORM, ...(authorization !== null ? { authorization } : {}) },
      payload: form({ token }),
    });

  function expectInvalidToken(response: Awaited<ReturnType<typeof search>>): void {
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  }

  it('introspects a client-credentials access token for an authenticated resource server (RFC 7662 §2.2)', async () => {
    const lab = await backendClient('Lab system');
    const token = await tokenOf(lab);
    const answer = await introspect(token);
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['cache-control']).toContain('no-store');
    expect(json(answer.body)).toMatchObject({
      active: true,
      scope: 'system/*.rs',
      client_id: lab.clientId,
      sub: lab.clientId,
      exp: expect.any(Number),
      iat: expect.any(Number),
    });
  });

  it('refuses introspection to a caller that does not authenticate (RFC 7662 §2.1)', async () => {
    const token = await tokenOf(await backendClient('Pharmacy system'));
    const anonymous = await introspect(token, null);
    expect(anonymous.statusCode).toBe(400);
    expect(json(anonymous.body).error).toBe('invalid_request');
    const wrongSecret = await introspect(token, basic('no-such-client', 'guess'));
    expect(wrongSecret.statusCode).toBe(401);
    expect(json(wrongSecret.body).error).toBe('invalid_client');
  });

  it('answers only active: false for expired and foreign tokens (RFC 7662 §2.2)', async () => {
    const expired = await signedAccessToken(t, { sub: 'u-1', roles: ['nurse'], scope: 'user/*.rs' }, -120);
    expect(json((await introspect(expired)).body)).toEqual({ active: false });
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ client_id: 'x', scope: 'system/*.rs', roles: ['system'] })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: (await exportJWK(publicKey)).kid ?? 'other' })
      .setIssuer(BASE_URL)
      .setAudience(FHIR_BASE)
      .setSubject('x')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(json((await introspect(foreign)).body)).toEqual({ active: false });
    expect(json((await introspect('not-a-token-at-all')).body)).toEqual({ active: false });
  });

  it('refuses the tokens of a disabled client on the FHIR door at once, and honours new ones once enabled', async () => {
    const lab = await backendClient('Radiology system');
    const token = await tokenOf(lab);
    expect((await search(token)).statusCode).toBe(200);
    await t.identity.clients.setDisabled(lab.clientId, true);
    expectInvalidToken(await search(token));
    expect(json((await introspect(token)).body)).toEqual({ active: false });
    const refused = await clientCredentialsToken(t.app, lab.clientId, lab.secret, 'system/*.rs');
    expect(refused.body.error).toBe('invalid_client');

    await t.identity.clients.setDisabled(lab.clientId, false);
    // The revocation covers tokens issued up to it; a token issued a second later is honoured.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await search(await tokenOf(lab))).statusCode).toBe(200);
    expectInvalidToken(await search(token));
  });

  it('refuses the old secret and the tokens obtained with it once the secret is rotated', async () => {
    const lab = await backendClient('Billing system');
    const token = await tokenOf(lab);
    const secret = await t.identity.clients.rotateSecret(lab.clientId);
    expectInvalidToken(await search(token));
    const old = await clientCredentialsToken(t.app, lab.clientId, lab.secret, 'system/*.rs');
    expect(old.body.error).toBe('invalid_client');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await search(await tokenOf({ clientId: lab.clientId, secret }))).statusCode).toBe(200);
  });

  it("refuses a disabled user's access tokens, and another node learns it from the database", async () => {
    const user = await t.identity.users.add({
      username: 'nurse.olha',
      password: 'a long enough secret',
      roles: ['nurse'],
    });
    const token = await signedAccessToken(t, { sub: user.id, roles: ['nurse'], scope: 'user/*.rs' });
    const otherNode = new TokenRevocations(t.db, { accessTokenSeconds: 300, refreshMs: 0 });
    const issued = { subject: user.id, clientId: 'test-app', issuedAt: Math.floor(Date.now() / 1000) };
    expect(await otherNode.refusal(issued)).toBeUndefined();

    await t.identity.users.setDisabled('nurse.olha', true);
    expectInvalidToken(await search(token));
    expect(await otherNode.refusal(issued)).toContain('disabled');
  });

  it('signs a user out everywhere: tokens refused, the account still usable', async () => {
    const user = await t.identity.users.add({
      username: 'dr.petro',
      password: 'a long enough secret',
      roles: ['specialist'],
    });
    const token = await signedAccessToken(t, { sub: user.id, roles: ['specialist'], scope: 'user/*.rs' });
    expect(await t.identity.users.signOut('dr.petro')).toBe(true);
    expectInvalidToken(await search(token));
    expect((await t.identity.users.byUsername('dr.petro'))?.disabled).toBe(false);
  });
});
