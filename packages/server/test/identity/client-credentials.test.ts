import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { FHIR_JSON, json, patient } from '../support/test-app.ts';
import {
  basic,
  clientCredentialsToken,
  createIdentityTestApp,
  FHIR_BASE,
  FORM,
  form,
  type IdentityTestApp,
  TOKEN_ENDPOINT,
} from './identity-app.ts';

describe.each(testDatabases())('client credentials and the FHIR door on $name', (database) => {
  let t: IdentityTestApp;
  let secret: string;
  let clientId: string;

  beforeAll(async () => {
    t = await createIdentityTestApp(database);
    const registered = await t.identity.clients.add({
      name: 'Lab system',
      kind: 'backend',
      scopes: ['system/*.rs', 'system/Patient.c'],
    });
    clientId = registered.client.clientId;
    secret = registered.clientSecret ?? '';
  });
  afterAll(() => t.close());

  it('publishes OpenID discovery at the issuer, naming the token endpoint and the JWKS', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
    expect(response.statusCode).toBe(200);
    const discovery = json(response.body);
    expect(discovery).toMatchObject({
      issuer: 'http://fhir.test',
      token_endpoint: TOKEN_ENDPOINT,
      jwks_uri: 'http://fhir.test/oauth2/jwks',
      introspection_endpoint: 'http://fhir.test/oauth2/introspect',
      revocation_endpoint: 'http://fhir.test/oauth2/revoke',
      code_challenge_methods_supported: ['S256'],
    });
    const jwks = json((await t.app.inject({ method: 'GET', url: '/oauth2/jwks' })).body);
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'RSA', alg: 'RS256', use: 'sig' })]);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });

  it('publishes SMART configuration under the FHIR base (conformance.html)', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/fhir/.well-known/smart-configuration' });
    expect(response.statusCode).toBe(200);
    expect(json(response.body)).toMatchObject({
      token_endpoint: TOKEN_ENDPOINT,
      token_endpoint_auth_methods_supported: expect.arrayContaining(['private_key_jwt']),
      token_endpoint_auth_signing_alg_values_supported: expect.arrayContaining(['RS384', 'ES384']),
      capabilities: expect.arrayContaining(['permission-v2', 'client-confidential-asymmetric']),
    });
  });

  it('issues a JWT access token for the FHIR base with client_secret_basic and client_secret_post', async () => {
    const { status, body } = await clientCredentialsToken(t.app, clientId, secret, 'system/*.rs');
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'system/*.rs', expires_in: 300 });
    const [, payload = ''] = String(body.access_token).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims).toMatchObject({ aud: FHIR_BASE, client_id: clientId, sub: clientId, roles: ['system'] });

    const post = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: FORM,
      payload: form({
        grant_type: 'client_credentials',
        scope: 'system/*.rs',
        client_id: clientId,
        client_secret: secret,
      }),
    });
    expect(post.statusCode).toBe(200);
  });

  it('refuses a wrong secret with invalid_client', async () => {
    const { status, body } = await clientCredentialsToken(t.app, clientId, `${secret}x`, 'system/*.rs');
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('narrows scopes to what the registration allows and names them in the response (RFC 6749 §3.3, §5.1)', async () => {
    const cases: [string, string][] = [
      ['system/Observation.rs system/*.cruds', 'system/*.rs system/Patient.c'],
      ['system/*.*', 'system/*.rs system/Patient.c'],
      ['system/*.read', 'system/*.read'],
      ['system/Observation.cruds', 'system/Observation.rs'],
      ['system/Patient.write', 'system/Patient.c'],
      ['system/Observation.rs?category=laboratory', 'system/Observation.rs?category=laboratory'],
    ];
    for (const [requested, granted] of cases) {
      const { status, body } = await clientCredentialsToken(t.app, clientId, secret, requested);
      expect({ requested, status, scope: body.scope }).toEqual({ requested, status: 200, scope: granted });
      const [, payload = ''] = String(body.access_token).split('.');
      expect(JSON.parse(Buffer.from(payload, 'base64url').toString()).scope).toBe(granted);
    }
  });

  it('refuses with invalid_scope a request for nothing the registration allows (RFC 6749 §5.2)', async () => {
    for (const requested of ['system/Observation.write', 'system/Observation.cud', 'system/Patient.d']) {
      const { status, body } = await clientCredentialsToken(t.app, clientId, secret, requested);
      expect({ requested, status, error: body.error }).toEqual({
        requested,
        status: 400,
        error: 'invalid_scope',
      });
    }
  });

  it('refuses a missing, empty, malformed, unknown or non-system/ scope with invalid_scope (SMART Backend Services §scopes)', async () => {
    const missing = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { ...FORM, authorization: basic(clientId, secret) },
      payload: form({ grant_type: 'client_credentials' }),
    });
    expect(missing.statusCode).toBe(400);
    expect(json(missing.body).error).toBe('invalid_scope');
    const refused = [
      '',
      'launch fhirUser',
      'openid',
      'patient/*.rs',
      'system/*.rs user/Patient.rs',
      'system/Patient.unknownAction',
      'system/Patient.xyz',
      'system/UnknownResource.read',
      'system/UnknownResource.r system/*.rs',
    ];
    for (const requested of refused) {
      const { status, body } = await clientCredentialsToken(t.app, clientId, secret, requested);
      expect({ requested, status, error: body.error }).toEqual({
        requested,
        status: 400,
        error: 'invalid_scope',
      });
    }
  });

  it('answers 401 with WWW-Authenticate: Bearer to a FHIR request without a token, but serves metadata', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/fhir/Patient' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="http:\/\/fhir.test\/fhir"/);
    expect(json(response.body).resourceType).toBe('OperationOutcome');
    expect((await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).statusCode).toBe(200);
  });

  it('names the OAuth endpoints of discovery in the CapabilityStatement (SMART conformance, oauth-uris)', async () => {
    const discovery = json(
      (await t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).body,
    );
    const metadata = json((await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).body);
    // Bulk Data Access IG, capability statement: the server instantiates the bulk-data one.
    expect(metadata.instantiates).toEqual(['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data']);
    const [rest] = metadata.rest as { security: Record<string, unknown>; documentation: string }[];
    if (rest === undefined) throw new Error('CapabilityStatement.rest is empty');
    const [oauthUris] = rest.security.extension as {
      url: string;
      extension: { url: string; valueUri: string }[];
    }[];
    expect(oauthUris?.url).toBe('http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    const uris = Object.fromEntries((oauthUris?.extension ?? []).map((e) => [e.url, e.valueUri]));
    expect(uris).toEqual({
      authorize: discovery.authorization_endpoint,
      token: discovery.token_endpoint,
      revoke: discovery.revocation_endpoint,
      introspect: discovery.introspection_endpoint,
    });
    expect(JSON.stringify(rest.security.service)).toContain('SMART-on-FHIR');
    expect(rest.documentation).toMatch(/^Requests need a bearer token/);
  });

  it('answers 401 invalid_token to a forged or tampered token', async () => {
    const { body } = await clientCredentialsToken(t.app, clientId, secret, 'system/*.rs');
    const token = String(body.access_token);
    const tampered = `${token.slice(0, -4)}AAAA`;
    const response = await t.app.inject({
      method: 'GET',
      url: '/fhir/Patient',
      headers: { authorization: `Bearer ${tampered}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('lets a token read what its scopes allow and answers 403 outside them', async () => {
    const { body } = await clientCredentialsToken(t.app, clientId, secret, 'system/*.rs system/Patient.c');
    const authorization = `Bearer ${String(body.access_token)}`;
    const created = await t.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: { ...FHIR_JSON, authorization },
      payload: patient({ family: 'Melnyk' }),
    });
    expect(created.statusCode).toBe(201);
    const id = String(json(created.body).id);

    const read = await t.app.inject({
      method: 'GET',
      url: `/fhir/Patient/${id}`,
      headers: { authorization },
    });
    expect(read.statusCode).toBe(200);
    const search = await t.app.inject({
      method: 'GET',
      url: '/fhir/Patient?family=Melnyk',
      headers: { authorization },
    });
    expect(search.statusCode).toBe(200);

    const update = await t.app.inject({
      method: 'PUT',
      url: `/fhir/Patient/${id}`,
      headers: { ...FHIR_JSON, authorization },
      payload: { ...patient({ family: 'Melnyk' }), id },
    });
    expect(update.statusCode).toBe(403);
    const outcome = json(update.body);
    expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
    const remove = await t.app.inject({
      method: 'DELETE',
      url: `/fhir/Patient/${id}`,
      headers: { authorization },
    });
    expect(remove.statusCode).toBe(403);
  });

  it('checks every entry of a transaction against the scopes', async () => {
    const { body } = await clientCredentialsToken(t.app, clientId, secret, 'system/*.rs system/Patient.c');
    const authorization = `Bearer ${String(body.access_token)}`;
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Patient' }, resource: patient() },
        {
          request: { method: 'POST', url: 'Observation' },
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
        },
      ],
    };
    const response = await t.app.inject({
      method: 'POST',
      url: '/fhir',
      headers: { ...FHIR_JSON, authorization },
      payload: bundle,
    });
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('Observation');
  });

  it('accepts a private_key_jwt client assertion (SMART Backend Services) and refuses its replay', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS384');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'backend-key-1', alg: 'RS384' };
    const registered = await t.identity.clients.add({
      name: 'Bulk data client',
      kind: 'backend',
      jwks: { keys: [jwk] },
      scopes: ['system/*.rs'],
    });
    const backendId = registered.client.clientId;
    expect(registered.client.authMethod).toBe('private_key_jwt');
    expect(registered.clientSecret).toBeUndefined();

    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS384', kid: 'backend-key-1', typ: 'JWT' })
      .setIssuer(backendId)
      .setSubject(backendId)
      .setAudience(TOKEN_ENDPOINT)
      .setJti(crypto.randomUUID())
      .setExpirationTime('5m')
      .sign(privateKey);
    const request = {
      method: 'POST' as const,
      url: '/oauth2/token',
      headers: FORM,
      payload: form({
        grant_type: 'client_credentials',
        scope: 'system/Patient.rs',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }),
    };
    const response = await t.app.inject(request);
    expect(response.statusCode).toBe(200);
    const token = String(json(response.body).access_token);
    const read = await t.app.inject({
      method: 'GET',
      url: '/fhir/Patient',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(read.statusCode).toBe(200);
    const observations = await t.app.inject({
      method: 'GET',
      url: '/fhir/Observation',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(observations.statusCode).toBe(403);

    const replay = await t.app.inject(request);
    expect(replay.statusCode).toBe(401);
    expect(json(replay.body).error).toBe('invalid_client');
  });

  it('takes keys from the registered JWKS URL and refuses an assertion whose jku is not it (SMART Backend Services §signature-verification)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES384');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'es384-key-1', alg: 'ES384' };
    const keyServer = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
    const { port } = keyServer.address() as AddressInfo;
    const jwksUri = `http://127.0.0.1:${port}/jwks.json`;
    try {
      const add = async (
        name: string,
        keys: { jwksUri: string } | { jwks: { keys: Record<string, unknown>[] } },
      ) =>
        (await t.identity.clients.add({ name, kind: 'backend', scopes: ['system/*.rs'], ...keys })).client
          .clientId;
      const byUrl = await add('Keys by URL', { jwksUri });
      const inline = await add('Keys inline', { jwks: { keys: [jwk] } });
      const token = async (client: string, jku?: string) => {
        const assertion = await new SignJWT({})
          .setProtectedHeader({
            alg: 'ES384',
            kid: 'es384-key-1',
            typ: 'JWT',
            ...(jku !== undefined ? { jku } : {}),
          })
          .setIssuer(client)
          .setSubject(client)
          .setAudience(TOKEN_ENDPOINT)
          .setJti(crypto.randomUUID())
          .setExpirationTime('5m')
          .sign(privateKey);
        const response = await t.app.inject({
          method: 'POST',
          url: '/oauth2/token',
          headers: FORM,
          payload: form({
            grant_type: 'client_credentials',
            scope: 'system/Patient.rs',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: assertion,
          }),
        });
        return { status: response.statusCode, error: json(response.body).error };
      };
      expect(await token(byUrl)).toEqual({ status: 200 });
      expect(await token(byUrl, jwksUri)).toEqual({ status: 200 });
      expect(await token(byUrl, `http://127.0.0.1:${port}/other.json`)).toEqual({
        status: 401,
        error: 'invalid_client',
      });
      expect(await token(inline)).toEqual({ status: 200 });
      expect(await token(inline, 'test-bad-jku')).toEqual({ status: 401, error: 'invalid_client' });
      expect(await token(inline, jwksUri)).toEqual({ status: 401, error: 'invalid_client' });
    } finally {
      keyServer.close();
    }
  });

  it('registers a JWKS URL only over https, or http on the loopback interface', async () => {
    const backend = { name: 'Keys by URL', kind: 'backend' as const, scopes: ['system/*.rs'] };
    await expect(
      t.identity.clients.add({ ...backend, jwksUri: 'http://keys.example.org/jwks.json' }),
    ).rejects.toThrow(/must be https/);
    await expect(
      t.identity.clients.add({
        ...backend,
        jwksUri: 'https://keys.example.org/jwks.json',
        jwks: { keys: [] },
      }),
    ).rejects.toThrow(/not both/);
    const registered = await t.identity.clients.add({
      ...backend,
      jwksUri: 'https://keys.example.org/jwks.json',
    });
    expect(registered.client.authMethod).toBe('private_key_jwt');
  });

  it('does not accept a client secret as a bearer token or Basic credentials at the FHIR door', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/fhir/Patient',
      headers: { authorization: basic(clientId, secret) },
    });
    expect(response.statusCode).toBe(401);
  });
});
