/**
 * Request size limits at every door (http/body-limits.ts and each door's own): a body over its
 * limit is answered 413 in the door's language — an OperationOutcome (code too-costly) on the FHIR
 * API, an RFC 6749 error object at the authorization server, a page on the sign-in pages — and is
 * never handed on. Storage plays no part, so one database (PGlite) is enough.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_SERVER_BODY_LIMIT } from '../../src/http/body-limits.ts';
import { createIdentityTestApp, FORM, type IdentityTestApp } from '../identity/identity-app.ts';
import { testDatabases } from '../support/databases.ts';

const [database] = testDatabases();

function expectTooCostly(response: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(response.statusCode).toBe(413);
  expect(String(response.headers['content-type'])).toContain('application/fhir+json');
  expect(JSON.parse(response.body)).toMatchObject({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'too-costly' }],
  });
}

describe('request size limits', () => {
  let t: IdentityTestApp;
  beforeAll(async () => {
    if (database === undefined) throw new Error('no test database');
    t = await createIdentityTestApp(database, {
      CONCORDIA_AUTH: 'insecure-demo',
      CONCORDIA_MAX_BODY_BYTES: '2048',
      CONCORDIA_IMPORT_MAX_UPLOAD_BYTES: '1024',
    });
  });
  afterAll(() => t.close());

  it('answers a FHIR JSON body over CONCORDIA_MAX_BODY_BYTES with 413 too-costly', async () => {
    const patient = { resourceType: 'Patient', name: [{ family: 'x'.repeat(3000) }] };
    const response = await t.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: { 'content-type': 'application/fhir+json' },
      payload: JSON.stringify(patient),
    });
    expectTooCostly(response);
    expect(JSON.parse(response.body).issue[0].diagnostics).toContain('2048 bytes (CONCORDIA_MAX_BODY_BYTES)');
    // A body under the limit is taken.
    const small = await t.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: { 'content-type': 'application/fhir+json' },
      payload: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(small.statusCode).toBe(201);
  });

  it('answers a raw Binary upload over the limit with 413 too-costly', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/fhir/Binary',
      headers: { 'content-type': 'application/pdf' },
      payload: Buffer.alloc(4096, 1),
    });
    expectTooCostly(response);
  });

  it('answers a $import upload over CONCORDIA_IMPORT_MAX_UPLOAD_BYTES with 413 and keeps no file', async () => {
    const line = `${JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bondarenko' }] })}\n`;
    const response = await t.app.inject({
      method: 'POST',
      url: '/fhir/$import',
      headers: { 'content-type': 'application/fhir+ndjson' },
      payload: line.repeat(40),
    });
    expectTooCostly(response);
    expect(JSON.parse(response.body).issue[0].diagnostics).toContain('CONCORDIA_IMPORT_MAX_UPLOAD_BYTES');
    const uploads = await readdir(join(t.dataDir, 'import-uploads')).catch(() => []);
    expect(uploads).toEqual([]);
  });

  it('answers a sign-in form over 16 KiB with 413 and a page, not Fastify’s generic JSON', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oauth2/interaction/some-interaction/login',
      headers: FORM,
      payload: `username=${'a'.repeat(20_000)}&password=x`,
    });
    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).toContain('The request body is larger than this endpoint accepts');
  });

  it('answers a token request over the authorization server’s 56 KiB with 413 and an RFC 6749 error', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: FORM,
      payload: `grant_type=client_credentials&scope=${'a'.repeat(AUTHORIZATION_SERVER_BODY_LIMIT)}`,
    });
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({
      error: 'invalid_request',
      error_description: `The request body exceeds the limit of ${AUTHORIZATION_SERVER_BODY_LIMIT} bytes`,
    });
  });

  it('answers an EHR launch request over 4 KiB with 413 and an RFC 6749 error', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oauth2/launch',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ patient: 'x'.repeat(5000) }),
    });
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_request' });
  });
});

describe('uploads without credentials (CONCORDIA_AUTH=required)', () => {
  let t: IdentityTestApp;
  beforeAll(async () => {
    if (database === undefined) throw new Error('no test database');
    t = await createIdentityTestApp(database);
  });
  afterAll(() => t.close());

  it('refuses a $import upload without a token before writing any of it, and closes the connection', async () => {
    const line = `${JSON.stringify({ resourceType: 'Patient' })}\n`;
    for (const authorization of [undefined, 'Bearer not.a.token']) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/$import',
        headers: {
          'content-type': 'application/fhir+ndjson',
          ...(authorization !== undefined ? { authorization } : {}),
        },
        payload: line.repeat(100),
      });
      expect(response.statusCode).toBe(401);
      expect(response.headers.connection).toBe('close');
      expect(JSON.parse(response.body)).toMatchObject({ resourceType: 'OperationOutcome' });
    }
    expect(await readdir(join(t.dataDir, 'import-uploads')).catch(() => [])).toEqual([]);
  });
});
