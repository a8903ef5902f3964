import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import { currentTotp } from '../../src/identity/totp.ts';
import { declaration } from '../access/access-fixtures.ts';
import { testDatabases } from '../support/databases.ts';
import { json, patient } from '../support/test-app.ts';
import { formAction, formField, location, TestBrowser } from './browser.ts';
import {
  authorizationCodeToken,
  basic,
  createIdentityTestApp,
  FHIR_BASE,
  FORM,
  form,
  type IdentityTestApp,
} from './identity-app.ts';

const REDIRECT_URI = 'http://app.test/callback';

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

describe.each(testDatabases())('SMART standalone launch with PKCE, MFA and consent on $name', (database) => {
  let t: IdentityTestApp;
  let clientId: string;
  let patientId: string;
  let otherPatientId: string;
  /** `Authorization: Basic …` of a backend client that introspects tokens (RFC 7662). */
  let resourceServer: string;

  async function createPatient(family: string): Promise<string> {
    const response = await t.core.handle(systemContext('test'), {
      method: 'POST',
      path: 'Patient',
      query: [],
      headers: {},
      body: patient({ family }),
    });
    const body = response.body;
    const resource =
      body?.kind === 'resource' ? body.resource : JSON.parse(body?.kind === 'json' ? body.json : '{}');
    return String(resource.id);
  }

  function authorizeUrl(challenge: string, scope: string, state = 'state-1'): string {
    return `/oauth2/authorize?${form({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope,
      state,
      aud: FHIR_BASE,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })}`;
  }

  beforeAll(async () => {
    t = await createIdentityTestApp(database);
    const registered = await t.identity.clients.add({
      name: 'Growth chart app',
      kind: 'public',
      redirectUris: [REDIRECT_URI],
      scopes: ['openid', 'fhirUser', 'offline_access', 'launch/patient', 'patient/*.rs', 'user/Patient.rs'],
    });
    clientId = registered.client.clientId;
    const server = await t.identity.clients.add({
      name: 'Resource server',
      kind: 'backend',
      scopes: ['system/Patient.rs'],
    });
    resourceServer = basic(server.client.clientId, server.clientSecret ?? '');
    patientId = await createPatient('Shevchenko');
    otherPatientId = await createPatient('Franko');
    // Dr Lesya reaches Shevchenko's record through an active declaration (access/, ADR 0005).
    await t.core.handle(systemContext('test'), {
      method: 'POST',
      path: 'EpisodeOfCare',
      query: [],
      headers: {},
      body: declaration({ patient: patientId, practitioner: 'p-1' }),
    });
    await t.identity.users.add({
      username: 'dr.lesya',
      password: 'correct horse battery',
      roles: ['family-doctor'],
      fhirUser: 'Practitioner/p-1',
    });
  });
  afterAll(() => t.close());

  it('signs in with password and TOTP enrolment, asks consent with a patient picker, and issues tokens', async () => {
    const browser = new TestBrowser(t.app);
    const { challenge } = pkce();
    const start = await browser.get(
      authorizeUrl(challenge, 'openid fhirUser offline_access launch/patient patient/*.rs'),
    );
    expect(start.statusCode).toBe(303);
    const loginPage = await browser.get(location(start));
    expect(loginPage.statusCode).toBe(200);
    expect(loginPage.body).toContain('<label for="password">Password</label>');

    // A forged form without the CSRF token is refused.
    const forged = await browser.post(formAction(loginPage.body), {
      username: 'dr.lesya',
      password: 'correct horse battery',
    });
    expect(forged.statusCode).toBe(403);

    const enrolPage = await browser.post(formAction(loginPage.body), {
      csrf: formField(loginPage.body, 'csrf'),
      username: 'dr.lesya',
      password: 'correct horse battery',
    });
    expect(enrolPage.statusCode).toBe(200);
    expect(enrolPage.body).toContain('Set up your second factor');
    const secret = /<code>([A-Z2-7]+)<\/code>/.exec(enrolPage.body)?.[1] ?? '';
    const wrong = await browser.post(formAction(enrolPage.body), {
      csrf: formField(enrolPage.body, 'csrf'),
      code: '000000',
    });
    expect(wrong.statusCode).toBe(401);
    const enrolled = await browser.post(formAction(enrolPage.body), {
      csrf: formField(enrolPage.body, 'csrf'),
      code: await currentTotp(secret),
    });
    expect(enrolled.statusCode).toBe(303);

    const resumed = await browser.get(location(enrolled));
    expect(resumed.statusCode).toBe(303);
    const consentPage = await browser.get(location(resumed));
    expect(consentPage.body).toContain('Allow access?');
    expect(consentPage.body).toContain(`value="${patientId}"`);
    const consented = await browser.post(formAction(consentPage.body), {
      csrf: formField(consentPage.body, 'csrf'),
      decision: 'allow',
      patient: patientId,
    });
    expect(consented.statusCode).toBe(303);
    const callback = await browser.get(location(consented));
    const redirect = new URL(location(callback));
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT_URI);
    expect(redirect.searchParams.get('state')).toBe('state-1');
    const code = redirect.searchParams.get('code') ?? '';

    // The code is bound to the PKCE verifier (RFC 7636 §4.6).
    const stolen = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: FORM,
      payload: form({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        client_id: clientId,
        code_verifier: pkce().verifier,
      }),
    });
    expect(stolen.statusCode).toBe(400);

    const { verifier: v2, challenge: c2 } = pkce();
    // (the failed exchange consumed nothing usable: start a fresh flow for the real exchange)
    const tokens = await signInAgain(browser, c2, v2, secret);
    // RFC 6749 §5.1 and SMART App Launch §token-response: `scope` names every granted scope,
    // the identity and launch ones beside the resource scopes the access token carries.
    expect(tokens).toMatchObject({ token_type: 'Bearer', patient: patientId });
    expect(String(tokens.scope).split(' ').sort()).toEqual(
      ['fhirUser', 'launch/patient', 'offline_access', 'openid', 'patient/*.rs'].sort(),
    );
    expect(typeof tokens.refresh_token).toBe('string');
    expect(typeof tokens.id_token).toBe('string');
    const idClaims = JSON.parse(
      Buffer.from(String(tokens.id_token).split('.')[1] ?? '', 'base64url').toString(),
    );
    expect(idClaims.fhirUser).toBe(`${FHIR_BASE}/Practitioner/p-1`);

    const authorization = `Bearer ${String(tokens.access_token)}`;
    const own = await t.app.inject({
      method: 'GET',
      url: `/fhir/Patient/${patientId}`,
      headers: { authorization },
    });
    expect(own.statusCode).toBe(200);
    const other = await t.app.inject({
      method: 'GET',
      url: `/fhir/Patient/${otherPatientId}`,
      headers: { authorization },
    });
    expect(other.statusCode).toBe(403);
    const confined = await t.app.inject({
      method: 'GET',
      url: `/fhir/Observation?patient=${patientId}`,
      headers: { authorization },
    });
    expect(confined.statusCode).toBe(200);
    const compartment = await t.app.inject({
      method: 'GET',
      url: `/fhir/Patient/${patientId}/Observation`,
      headers: { authorization },
    });
    expect(compartment.statusCode).toBe(200);
    const everyone = await t.app.inject({
      method: 'GET',
      url: '/fhir/Observation',
      headers: { authorization },
    });
    expect(everyone.statusCode).toBe(403);

    // Refresh with rotation: the new refresh token works once, the old one no longer does.
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: FORM,
      payload: form({
        grant_type: 'refresh_token',
        refresh_token: String(tokens.refresh_token),
        client_id: clientId,
      }),
    });
    expect(refreshed.statusCode).toBe(200);
    const rotated = json(refreshed.body);
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect(rotated.patient).toBe(patientId);
    expect(rotated.scope).toBe(tokens.scope);

    // RFC 7662: a resource server (a backend client) authenticates and learns what a token says;
    // the public app, which cannot authenticate (§2.1), learns nothing.
    const introspect = async (token: string, authorization?: string) =>
      json(
        (
          await t.app.inject({
            method: 'POST',
            url: '/oauth2/introspect',
            headers: { ...FORM, ...(authorization !== undefined ? { authorization } : {}) },
            payload: form(authorization !== undefined ? { token } : { token, client_id: clientId }),
          })
        ).body,
      );
    expect(await introspect(String(rotated.refresh_token))).toEqual({ active: false });
    expect(await introspect(String(rotated.refresh_token), resourceServer)).toMatchObject({
      active: true,
      client_id: clientId,
    });
    const accessClaims = JSON.parse(
      Buffer.from(String(rotated.access_token).split('.')[1] ?? '', 'base64url').toString(),
    );
    expect(await introspect(String(rotated.access_token), resourceServer)).toEqual({
      active: true,
      token_type: 'Bearer',
      scope: 'patient/*.rs',
      client_id: clientId,
      sub: accessClaims.sub,
      exp: accessClaims.exp,
      iat: accessClaims.iat,
      iss: 'http://fhir.test',
      aud: FHIR_BASE,
      jti: accessClaims.jti,
      patient: patientId,
      fhirUser: `${FHIR_BASE}/Practitioner/p-1`,
    });
    expect(await introspect(String(rotated.access_token))).toEqual({ active: false });

    const revoked = await t.app.inject({
      method: 'POST',
      url: '/oauth2/revoke',
      headers: FORM,
      payload: form({ token: String(rotated.refresh_token), client_id: clientId }),
    });
    expect(revoked.statusCode).toBe(200);
    expect(await introspect(String(rotated.refresh_token), resourceServer)).toEqual({ active: false });
    // Revoking the refresh token ends its grant: every access token issued under it, the one it
    // was exchanged for and the one before, is refused from the next request on.
    expect(await introspect(String(rotated.access_token), resourceServer)).toEqual({ active: false });
    for (const accessToken of [rotated.access_token, tokens.access_token]) {
      const refused = await t.app.inject({
        method: 'GET',
        url: `/fhir/Patient/${patientId}`,
        headers: { authorization: `Bearer ${String(accessToken)}` },
      });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    }
    const afterRevocation = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: FORM,
      payload: form({
        grant_type: 'refresh_token',
        refresh_token: String(rotated.refresh_token),
        client_id: clientId,
      }),
    });
    expect(json(afterRevocation.body).error).toBe('invalid_grant');
  });

  /** A second sign-in of the now enrolled user: password, then a one-time code, then consent. */
  async function signInAgain(browser: TestBrowser, challenge: string, verifier: string, secret: string) {
    const start = await browser.get(
      authorizeUrl(challenge, 'openid fhirUser offline_access launch/patient patient/*.rs', 'state-2'),
    );
    let callback = start;
    // Follow the flow until it returns to the app: sign in with the one-time code (the session may
    // already be signed in), consent if asked.
    while (!location(callback).startsWith(REDIRECT_URI)) {
      const page = await browser.get(location(callback));
      if (page.statusCode !== 200) {
        callback = page;
      } else if (page.body.includes('<h1>Sign in</h1>')) {
        const mfaPage = await browser.post(formAction(page.body), {
          csrf: formField(page.body, 'csrf'),
          username: 'dr.lesya',
          password: 'correct horse battery',
        });
        expect(mfaPage.body).toContain('one-time code');
        // The enrolment step used this time step's code; the next step's code is accepted.
        callback = await browser.post(formAction(mfaPage.body), {
          csrf: formField(mfaPage.body, 'csrf'),
          code: await currentTotp(secret, Math.floor(Date.now() / 1000) + 30),
        });
      } else {
        expect(page.body).toContain('Allow access?');
        callback = await browser.post(formAction(page.body), {
          csrf: formField(page.body, 'csrf'),
          decision: 'allow',
          patient: patientId,
        });
      }
    }
    const code = new URL(location(callback)).searchParams.get('code') ?? '';
    const { status, body } = await authorizationCodeToken(t.app, {
      code,
      verifier,
      clientId,
      redirectUri: REDIRECT_URI,
    });
    expect(status).toBe(200);
    return body;
  }

  it('refuses an authorization request without PKCE from a public client', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: `/oauth2/authorize?${form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, scope: 'openid', state: 's' })}`,
    });
    expect(response.statusCode).toBe(303);
    const redirect = new URL(location(response));
    expect(redirect.searchParams.get('error')).toBe('invalid_request');
    expect(redirect.searchParams.get('error_description')).toContain('PKCE');
  });

  it('locks an account after repeated wrong passwords, refusing even the right one', async () => {
    await t.identity.users.add({
      username: 'patient.ivan',
      password: 'a long enough secret',
      roles: ['patient'],
      fhirUser: `Patient/${otherPatientId}`,
    });
    const browser = new TestBrowser(t.app);
    const start = await browser.get(authorizeUrl(pkce().challenge, 'openid patient/*.rs', 'lock'));
    const page = await browser.get(location(start));
    const action = formAction(page.body);
    const csrf = formField(page.body, 'csrf');
    for (let attempt = 0; attempt < t.config.loginMaxFailures; attempt += 1) {
      const failed = await browser.post(action, {
        csrf,
        username: 'patient.ivan',
        password: `wrong ${attempt} password`,
      });
      expect(failed.statusCode).toBe(401);
    }
    const locked = await browser.post(action, {
      csrf,
      username: 'patient.ivan',
      password: 'a long enough secret',
    });
    expect(locked.statusCode).toBe(401);
    expect(locked.body).toContain('locked');
    expect((await t.identity.users.byUsername('patient.ivan'))?.lockedUntil).toBeDefined();

    await t.identity.users.resetMfa('patient.ivan'); // also lifts the lockout (concordia users reset-mfa)
    const unlocked = await browser.post(action, {
      csrf,
      username: 'patient.ivan',
      password: 'a long enough secret',
    });
    expect(unlocked.statusCode).toBe(303);
  });
});
