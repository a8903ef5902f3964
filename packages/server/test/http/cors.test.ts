/**
 * CORS for browser SMART apps (http/cors.ts and the authorization server's own CORS): what a page
 * of another origin may call, which headers it may send and read, and what stays closed — the
 * sign-in pages, credentials, and origins off the configured list. Storage plays no part, so one
 * database (PGlite) is enough.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createIdentityTestApp, FORM, form, type IdentityTestApp } from '../identity/identity-app.ts';
import { testDatabases } from '../support/databases.ts';

const APP_ORIGIN = 'https://growth-chart.example.org';
const OTHER_ORIGIN = 'https://elsewhere.example.net';
const [database] = testDatabases();

function preflight(url: string, origin: string, method = 'GET', headers = 'authorization') {
  return {
    method: 'OPTIONS' as const,
    url,
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  };
}

/** A comma-separated header as its items. */
function items(header: unknown): string[] {
  return String(header).split(/\s*,\s*/);
}

async function publicClient(t: IdentityTestApp): Promise<string> {
  const registered = await t.identity.clients.add({
    name: 'Growth chart',
    kind: 'public',
    redirectUris: [`${APP_ORIGIN}/callback`],
    scopes: ['openid', 'patient/*.rs'],
  });
  return registered.client.clientId;
}

describe('CORS with the default configuration (any origin, no credentials)', () => {
  let t: IdentityTestApp;
  let clientId: string;
  beforeAll(async () => {
    if (database === undefined) throw new Error('no test database');
    t = await createIdentityTestApp(database);
    clientId = await publicClient(t);
  });
  afterAll(() => t.close());

  it('answers a FHIR preflight before authentication, allowing the headers FHIR clients send', async () => {
    const response = await t.app.inject(
      preflight('/fhir/Patient/123', APP_ORIGIN, 'PUT', 'authorization,content-type,if-match,prefer'),
    );
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(items(response.headers['access-control-allow-methods'])).toEqual(
      expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    );
    expect(items(response.headers['access-control-allow-headers']).map((name) => name.toLowerCase())).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'if-match', 'prefer', 'if-none-exist']),
    );
    expect(response.headers['access-control-max-age']).toBe('600');
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('exposes Location, ETag, Content-Location and X-Progress on FHIR answers, 401s included', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/fhir/Patient',
      headers: { origin: APP_ORIGIN },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(items(response.headers['access-control-expose-headers'])).toEqual(
      expect.arrayContaining(['Location', 'ETag', 'Content-Location', 'X-Progress', 'WWW-Authenticate']),
    );
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('opens SMART discovery at the FHIR base and at the root', async () => {
    for (const url of ['/fhir/.well-known/smart-configuration', '/.well-known/smart-configuration']) {
      const response = await t.app.inject({ method: 'GET', url, headers: { origin: APP_ORIGIN } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe('*');
    }
  });

  it('opens OpenID discovery and the JWKS (oidc-provider answers those itself)', async () => {
    for (const url of ['/.well-known/openid-configuration', '/oauth2/jwks']) {
      const response = await t.app.inject({ method: 'GET', url, headers: { origin: APP_ORIGIN } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    }
  });

  it('lets a public client call the token endpoint only from its redirect URI’s origin', async () => {
    const tokenRequest = (origin: string) =>
      t.app.inject({
        method: 'POST',
        url: '/oauth2/token',
        headers: { ...FORM, origin },
        payload: form({
          grant_type: 'authorization_code',
          code: 'not-a-code',
          redirect_uri: `${APP_ORIGIN}/callback`,
          client_id: clientId,
          code_verifier: 'x'.repeat(43),
        }),
      });
    const own = await tokenRequest(APP_ORIGIN);
    expect(own.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(JSON.parse(own.body).error).toBe('invalid_grant');

    const foreign = await tokenRequest(OTHER_ORIGIN);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(foreign.body)).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining('not allowed'),
    });

    const token = await t.app.inject(preflight('/oauth2/token', APP_ORIGIN, 'POST', 'content-type'));
    expect(token.statusCode).toBe(204);
    expect(token.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
  });

  it('never opens the sign-in pages or the authorization endpoint', async () => {
    const authorize = await t.app.inject({
      method: 'GET',
      url: `/oauth2/authorize?${form({ response_type: 'code', client_id: clientId, redirect_uri: `${APP_ORIGIN}/callback`, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
      headers: { origin: APP_ORIGIN },
    });
    expect(authorize.headers['access-control-allow-origin']).toBeUndefined();
    const interaction = await t.app.inject({
      method: 'GET',
      url: String(authorize.headers.location),
      headers: { origin: APP_ORIGIN },
    });
    expect(interaction.statusCode).toBeLessThan(500);
    expect(interaction.headers['access-control-allow-origin']).toBeUndefined();
    const loginPreflight = await t.app.inject(
      preflight(`${String(authorize.headers.location)}/login`, APP_ORIGIN, 'POST', 'content-type'),
    );
    expect(loginPreflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds nothing to a request without Origin, and leaves a plain OPTIONS alone', async () => {
    const plain = await t.app.inject({ method: 'GET', url: '/fhir/metadata' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
    const options = await t.app.inject({ method: 'OPTIONS', url: '/fhir/metadata' });
    expect(options.statusCode).not.toBe(400);
    expect(options.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('varies every answer by Origin, with or without CORS headers, so caches never mix them', async () => {
    const plain = await t.app.inject({ method: 'GET', url: '/fhir/metadata' });
    const cross = await t.app.inject({
      method: 'GET',
      url: '/fhir/metadata',
      headers: { origin: APP_ORIGIN },
    });
    for (const response of [plain, cross]) expect(String(response.headers.vary)).toMatch(/origin/i);
  });

  it('refuses an OPTIONS from an allowed origin without Access-Control-Request-Method (no valid preflight)', async () => {
    const response = await t.app.inject({
      method: 'OPTIONS',
      url: '/fhir/Patient',
      headers: { origin: APP_ORIGIN },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('refuses the opaque origin "null" (sandboxed frames, local files)', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/fhir/metadata',
      headers: { origin: 'null' },
    });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS limited to a list of origins (CONCORDIA_CORS_ORIGINS)', () => {
  let t: IdentityTestApp;
  beforeAll(async () => {
    if (database === undefined) throw new Error('no test database');
    t = await createIdentityTestApp(database, {
      CONCORDIA_CORS_ORIGINS: `${APP_ORIGIN}, http://localhost:3000`,
    });
    await publicClient(t);
  });
  afterAll(() => t.close());

  it('echoes a listed origin with Vary: Origin, so shared caches keep one answer per origin', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/fhir/metadata',
      headers: { origin: APP_ORIGIN },
    });
    expect(response.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(String(response.headers.vary)).toMatch(/origin/i);
    const smart = await t.app.inject(preflight('/fhir/.well-known/smart-configuration', APP_ORIGIN));
    expect(smart.statusCode).toBe(204);
  });

  it('gives an unlisted origin no CORS anywhere, the authorization server’s documents included', async () => {
    for (const url of ['/fhir/metadata', '/.well-known/openid-configuration', '/oauth2/jwks']) {
      const response = await t.app.inject({ method: 'GET', url, headers: { origin: OTHER_ORIGIN } });
      expect(response.headers['access-control-allow-origin'], url).toBeUndefined();
    }
    for (const url of ['/fhir/Patient', '/oauth2/token']) {
      const response = await t.app.inject(preflight(url, OTHER_ORIGIN, 'POST'));
      expect(response.statusCode, url).not.toBe(200);
      expect(response.headers['access-control-allow-origin'], url).toBeUndefined();
    }
  });
});

describe('CONCORDIA_CORS_ORIGINS parsing', () => {
  const base = { CONCORDIA_DATA_DIR: '/tmp/concordia-cors-config' };
  it('defaults to any origin and accepts none or a list of exact origins', () => {
    expect(loadConfig(base).corsOrigins).toEqual(['*']);
    expect(loadConfig({ ...base, CONCORDIA_CORS_ORIGINS: 'none' }).corsOrigins).toEqual([]);
    expect(
      loadConfig({ ...base, CONCORDIA_CORS_ORIGINS: 'https://a.example, http://localhost:8080' }).corsOrigins,
    ).toEqual(['https://a.example', 'http://localhost:8080']);
  });

  it('refuses what is not an origin: a path, a trailing slash, a bare host', () => {
    for (const value of ['https://a.example/app', 'https://a.example/', 'a.example', '*,https://a.example']) {
      expect(() => loadConfig({ ...base, CONCORDIA_CORS_ORIGINS: value }), value).toThrow(ConfigError);
    }
  });
});
