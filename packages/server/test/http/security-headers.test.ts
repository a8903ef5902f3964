/**
 * Security headers on every answer (http/security-headers.ts), without breaking what doors set
 * themselves: CORS for SMART apps, the sign-in pages' CSP, SMART discovery's caching. Storage plays
 * no part, so one database (PGlite) is enough.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentityTestApp, FORM, form, type IdentityTestApp } from '../identity/identity-app.ts';
import { testDatabases } from '../support/databases.ts';

const [database] = testDatabases();
const APP_ORIGIN = 'https://growth-chart.example.org';

describe('security headers over plain HTTP (the default)', () => {
  let t: IdentityTestApp;
  beforeAll(async () => {
    if (database === undefined) throw new Error('no test database');
    t = await createIdentityTestApp(database);
  });
  afterAll(() => t.close());

  it('sends nosniff, no-referrer, DENY framing and same-origin CORP on every door', async () => {
    for (const url of [
      '/fhir/Patient',
      '/fhir/metadata',
      '/oauth2/jwks',
      '/.well-known/openid-configuration',
      '/healthz',
    ]) {
      const response = await t.app.inject({ method: 'GET', url });
      expect(response.headers['x-content-type-options'], url).toBe('nosniff');
      expect(response.headers['referrer-policy'], url).toBe('no-referrer');
      expect(response.headers['x-frame-options'], url).toBe('DENY');
      expect(response.headers['cross-origin-resource-policy'], url).toBe('same-origin');
      expect(String(response.headers['content-security-policy']), url).toContain("frame-ancestors 'none'");
      // No HSTS over plain HTTP unless CONCORDIA_HSTS=on says TLS ends in front.
      expect(response.headers['strict-transport-security'], url).toBeUndefined();
    }
  });

  it('forbids storing FHIR answers, refusals included, but lets the CapabilityStatement be cached', async () => {
    const refused = await t.app.inject({ method: 'GET', url: '/fhir/Patient/123' });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'; sandbox",
    );
    const metadata = await t.app.inject({ method: 'GET', url: '/fhir/metadata' });
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['cache-control']).toBeUndefined();
  });

  it('forbids storing token answers, and keeps SMART discovery cacheable as its door says', async () => {
    const token = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: FORM,
      payload: form({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'wrong' }),
    });
    expect(token.statusCode).toBeGreaterThanOrEqual(400);
    expect(token.headers['cache-control']).toBe('no-store');
    expect(token.headers['x-content-type-options']).toBe('nosniff');
    const smart = await t.app.inject({ method: 'GET', url: '/.well-known/smart-configuration' });
    expect(smart.headers['cache-control']).toBe('public, max-age=3600');
  });

  it('keeps the sign-in pages’ own content security policy', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/oauth2/interaction/unknown-interaction' });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['x-frame-options']).toBe('DENY');
  });

  it('leaves CORS for SMART apps intact: preflight and answers still open to the app’s origin', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/fhir/Patient',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    const answer = await t.app.inject({
      method: 'GET',
      url: '/fhir/metadata',
      headers: { origin: APP_ORIGIN },
    });
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    expect(answer.headers['cross-origin-resource-policy']).toBe('same-origin');
  });
});

describe('CONCORDIA_HSTS=on: TLS terminated by a proxy in front', () => {
  let t: IdentityTestApp;
  beforeAll(async () => {
    if (database === undefined) throw new Error('no test database');
    t = await createIdentityTestApp(database, {
      CONCORDIA_BASE_URL: 'https://fhir.example.org',
      CONCORDIA_HSTS: 'on',
      CONCORDIA_HSTS_MAX_AGE: '63072000',
      CONCORDIA_HSTS_INCLUDE_SUBDOMAINS: 'true',
    });
  });
  afterAll(() => t.close());

  it('sends Strict-Transport-Security with the configured max-age on the FHIR API and the authorization server', async () => {
    for (const url of ['/fhir/metadata', '/oauth2/jwks', '/.well-known/smart-configuration']) {
      const response = await t.app.inject({ method: 'GET', url });
      expect(response.headers['strict-transport-security'], url).toBe('max-age=63072000; includeSubDomains');
    }
  });

  it('names https in SMART discovery (the issuer is the configured base URL)', async () => {
    const smart = JSON.parse(
      (await t.app.inject({ method: 'GET', url: '/.well-known/smart-configuration' })).body,
    );
    expect(smart.issuer).toBe('https://fhir.example.org');
    expect(smart.token_endpoint).toBe('https://fhir.example.org/oauth2/token');
  });
});
