/**
 * Sign-ins leave BALP Login events (DICOM 110114 / 110122): a person's wrong and right password,
 * and a client's token request (client credentials), granted or refused; signing out and token
 * revocation leave Logout events (110123). Through the real OAuth door, composed as main.ts
 * composes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import type { Audit } from '../../src/audit/audit.ts';
import { loadConfig } from '../../src/config.ts';
import { createIdentity, type Identity } from '../../src/identity/identity.ts';
import { corePatientDirectory } from '../../src/identity/patient-picker.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Database } from '../../src/store/database.ts';
import { formAction, formField, location, TestBrowser } from '../identity/browser.ts';
import {
  authorizationCodeToken,
  clientCredentialsToken,
  FHIR_BASE,
  FORM,
  form,
} from '../identity/identity-app.ts';
import { testDatabases } from '../support/databases.ts';
import { at } from '../support/test-app.ts';
import { type StoredAuditEvent, storedAuditEvents } from './audit-support.ts';

const REDIRECT_URI = 'http://app.test/callback';

describe.each(testDatabases())('sign-in audit on $name', (database) => {
  let app: FastifyInstance;
  let identity: Identity;
  let db: Database;
  let audit: Audit;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'concordia-audit-'));
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      CONCORDIA_BASE_URL: 'http://fhir.test',
      CONCORDIA_DATA_DIR: dataDir,
      CONCORDIA_AUTH: 'required',
    });
    db = await database.create();
    const logger = createLogger(config);
    const components = await buildComponents(db, config, logger);
    audit = components.audit;
    identity = await createIdentity({
      config,
      db,
      patients: corePatientDirectory(components.core),
      signIns: audit.signIns,
    });
    app = await buildApp({
      config,
      store: components.store,
      core: components.core,
      identity,
      logger,
      metrics: createMetrics(),
    });
    await app.ready();
    close = async () => {
      await app.close();
      await audit.close();
      await components.store.close();
      await rm(dataDir, { recursive: true, force: true });
    };
  });
  afterAll(() => close());

  async function loginEvents(): Promise<StoredAuditEvent[]> {
    return (await storedAuditEvents(db)).filter((event) => at(event.event, 'type', 'code') === '110114');
  }

  it('records a failed and a successful password sign-in as Login events with outcome 4 and 0', async () => {
    const registered = await identity.clients.add({
      name: 'Patient portal',
      kind: 'public',
      redirectUris: [REDIRECT_URI],
      scopes: ['openid', 'patient/*.rs'],
    });
    await identity.users.add({
      username: 'patient.olena',
      password: 'a long enough secret',
      roles: ['patient'],
      fhirUser: 'Patient/olena',
    });
    const browser = new TestBrowser(app);
    const start = await browser.get(
      `/oauth2/authorize?${form({
        response_type: 'code',
        client_id: registered.client.clientId,
        redirect_uri: REDIRECT_URI,
        scope: 'openid patient/*.rs',
        state: 's',
        aud: FHIR_BASE,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      })}`,
    );
    const page = await browser.get(location(start));
    const action = formAction(page.body);
    const csrf = formField(page.body, 'csrf');
    const wrong = await browser.post(action, {
      csrf,
      username: 'patient.olena',
      password: 'not the password',
    });
    expect(wrong.statusCode).toBe(401);
    const right = await browser.post(action, {
      csrf,
      username: 'patient.olena',
      password: 'a long enough secret',
    });
    expect(right.statusCode).toBe(303);

    const events = await loginEvents();
    expect(events.map((event) => [event.subtype, event.outcome, event.action])).toEqual([
      [['110122', 'password'], '4', 'E'],
      [['110122', 'password'], '0', 'E'],
    ]);
    const [failed, succeeded] = events;
    expect(failed?.agent).toContain('patient.olena');
    expect(String(at(failed?.event, 'outcomeDesc'))).toContain('invalid');
    expect(succeeded?.agent).toContain('Patient/olena');
    expect(succeeded?.patient).toEqual(['Patient/olena']);
    expect(at(succeeded?.event, 'agent', 0, 'network', 'address')).toBe('127.0.0.1');
  });

  it('records client-credentials token requests, granted and refused', async () => {
    const registered = await identity.clients.add({
      name: 'Lab system',
      kind: 'backend',
      scopes: ['system/Observation.crs'],
    });
    const clientId = registered.client.clientId;
    const before = (await loginEvents()).length;
    const granted = await clientCredentialsToken(
      app,
      clientId,
      registered.clientSecret ?? '',
      'system/Observation.rs',
    );
    expect(granted.status).toBe(200);
    const refused = await clientCredentialsToken(app, clientId, 'wrong secret', 'system/Observation.rs');
    expect(refused.status).toBe(401);
    const events = (await loginEvents()).slice(before);
    expect(events.map((event) => [event.subtype, event.outcome])).toEqual([
      [['110122', 'client-credentials'], '0'],
      [['110122', 'client-credentials'], '4'],
    ]);
    expect(events.every((event) => event.agent.includes(`client:${clientId}`))).toBe(true);
    expect(at(events[0]?.event, 'agent', 0, 'who', 'identifier', 'value')).toBe(clientId);
    expect(at(events[0]?.event, 'agent', 0, 'requestor')).toBe(true);
    expect(String(at(events[1]?.event, 'outcomeDesc'))).toContain('invalid_client');
  });

  /** A patient signs in to a public app and consents; answers the browser (with its session) and the tokens. */
  async function signedInPatient(username: string, fhirUser: string) {
    const registered = await identity.clients.add({
      name: 'Diary app',
      kind: 'public',
      redirectUris: [REDIRECT_URI],
      scopes: ['openid', 'offline_access', 'patient/*.rs'],
    });
    const clientId = registered.client.clientId;
    await identity.users.add({ username, password: 'a long enough secret', roles: ['patient'], fhirUser });
    const verifier = randomBytes(32).toString('base64url');
    const browser = new TestBrowser(app);
    let response = await browser.get(
      `/oauth2/authorize?${form({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
        scope: 'openid offline_access patient/*.rs',
        state: 's',
        aud: FHIR_BASE,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      })}`,
    );
    const loginPage = await browser.get(location(response));
    response = await browser.post(formAction(loginPage.body), {
      csrf: formField(loginPage.body, 'csrf'),
      username,
      password: 'a long enough secret',
    });
    // resume → consent page → allow → resume → the app's redirect URI with the code
    response = await browser.get(location(response));
    const consentPage = await browser.get(location(response));
    response = await browser.post(formAction(consentPage.body), {
      csrf: formField(consentPage.body, 'csrf'),
      decision: 'allow',
    });
    response = await browser.get(location(response));
    const code = new URL(location(response)).searchParams.get('code') ?? '';
    const tokens = await authorizationCodeToken(app, { code, verifier, clientId, redirectUri: REDIRECT_URI });
    expect(tokens.status).toBe(200);
    return { browser, clientId, refreshToken: String(tokens.body.refresh_token) };
  }

  async function logoutEvents(): Promise<StoredAuditEvent[]> {
    return (await loginEvents()).filter((event) => event.subtype.includes('110123'));
  }

  it("records a token revocation (RFC 7009) as a Logout event of the grant's user, and one that revoked nothing as outcome 4", async () => {
    const { clientId, refreshToken } = await signedInPatient('patient.taras', 'Patient/taras');
    const before = (await logoutEvents()).length;
    const revoke = () =>
      app.inject({
        method: 'POST',
        url: '/oauth2/revoke',
        headers: { ...FORM, 'user-agent': 'diary-app/2.1' },
        payload: form({ token: refreshToken, token_type_hint: 'refresh_token', client_id: clientId }),
      });
    expect((await revoke()).statusCode).toBe(200);
    // RFC 7009 §2.2: revoking an already revoked token still answers 200.
    expect((await revoke()).statusCode).toBe(200);

    const events = (await logoutEvents()).slice(before);
    expect(events.map((event) => [event.subtype, event.outcome, event.action])).toEqual([
      [['110123', 'token-revocation'], '0', 'E'],
      [['110123', 'token-revocation'], '4', 'E'],
    ]);
    const [revoked, nothing] = events;
    expect(at(revoked?.event, 'type', 'code')).toBe('110114');
    expect(revoked?.agent).toContain('Patient/taras');
    expect(revoked?.agent).toContain(`client:${clientId}`);
    expect(revoked?.patient).toEqual(['Patient/taras']);
    expect(at(revoked?.event, 'agent', 0, 'network', 'address')).toBe('127.0.0.1');
    expect(at(revoked?.event, 'agent', 0, 'name')).toBe('diary-app/2.1');
    expect(String(at(revoked?.event, 'outcomeDesc'))).toContain('RefreshToken revoked');
    expect(typeof at(revoked?.event, 'recorded')).toBe('string');
    expect(String(at(nothing?.event, 'outcomeDesc'))).toContain('no token was revoked');
  });

  it("records signing out (RP-Initiated Logout) as a Logout event of the session's user, and a forged confirmation as outcome 4", async () => {
    const { browser, clientId } = await signedInPatient('patient.ivanna', 'Patient/ivanna');
    const before = (await logoutEvents()).length;
    const confirmPage = await browser.get(`/oauth2/logout?${form({ client_id: clientId })}`);
    expect(confirmPage.statusCode).toBe(200);
    const signedOut = await browser.post('/oauth2/logout/confirm', {
      xsrf: formField(confirmPage.body, 'xsrf'),
      logout: 'yes',
    });
    expect(signedOut.statusCode).toBe(303);
    const forged = await browser.post('/oauth2/logout/confirm', { xsrf: 'not the secret', logout: 'yes' });
    expect(forged.statusCode).toBe(400);

    const events = (await logoutEvents()).slice(before);
    expect(events.map((event) => [event.subtype, event.outcome, event.action])).toEqual([
      [['110123', 'logout'], '0', 'E'],
      [['110123', 'logout'], '4', 'E'],
    ]);
    const [ended, refused] = events;
    expect(ended?.agent).toContain('Patient/ivanna');
    expect(ended?.patient).toEqual(['Patient/ivanna']);
    expect(at(ended?.event, 'outcomeDesc')).toBe('session ended');
    expect(ended?.agent).toContain(`client:${clientId}`);
    expect(at(ended?.event, 'agent', 0, 'network', 'address')).toBe('127.0.0.1');
    expect(refused?.agent).not.toContain('Patient/ivanna');
    expect(String(at(refused?.event, 'outcomeDesc'))).toContain('sign-out refused');
  });

  it('records "stay signed in" as a Logout from the asking client only, and a confirmation that ended nothing not at all', async () => {
    const { browser, clientId } = await signedInPatient('patient.marko', 'Patient/marko');
    const before = (await logoutEvents()).length;
    const confirmPage = await browser.get(`/oauth2/logout?${form({ client_id: clientId })}`);
    const appOnly = await browser.post('/oauth2/logout/confirm', {
      xsrf: formField(confirmPage.body, 'xsrf'),
    });
    expect(appOnly.statusCode).toBe(303);
    // Signed out everywhere by a browser with no session: nothing to record.
    const stranger = new TestBrowser(app);
    const autoPost = await stranger.get('/oauth2/logout');
    expect(
      (
        await stranger.post('/oauth2/logout/confirm', {
          xsrf: formField(autoPost.body, 'xsrf'),
          logout: 'yes',
        })
      ).statusCode,
    ).toBe(303);

    const events = (await logoutEvents()).slice(before);
    expect(events.map((event) => [event.subtype, event.outcome])).toEqual([[['110123', 'logout'], '0']]);
    expect(events[0]?.agent).toContain('Patient/marko');
    expect(at(events[0]?.event, 'outcomeDesc')).toBe(
      `signed out of client ${clientId} only; the session continues`,
    );
  });
});
