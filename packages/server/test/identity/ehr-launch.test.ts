import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import { currentTotp, newTotpSecret } from '../../src/identity/totp.ts';
import { declaration } from '../access/access-fixtures.ts';
import { testDatabases } from '../support/databases.ts';
import { json, patient } from '../support/test-app.ts';
import { formAction, formField, location, TestBrowser } from './browser.ts';
import {
  authorizationCodeToken,
  clientCredentialsToken,
  createIdentityTestApp,
  FHIR_BASE,
  form,
  type IdentityTestApp,
} from './identity-app.ts';

const REDIRECT_URI = 'http://app.test/callback';
const PASSWORD = 'correct horse battery';

describe.each(testDatabases())('SMART EHR launch on $name', (database) => {
  let t: IdentityTestApp;
  let appId: string;
  let otherAppId: string;
  let ehrToken: string;
  let patientId: string;
  let encounterId: string;
  let strangerId: string;
  let strangerEncounterId: string;
  let mfaSecret: string;
  // Each sign-in spends one TOTP time step (RFC 6238 §5.2): the next one uses a later step.
  let totpStep = 0;

  async function create(resource: Record<string, unknown>): Promise<string> {
    const response = await t.core.handle(systemContext('test'), {
      method: 'POST',
      path: String(resource.resourceType),
      query: [],
      headers: {},
      body: resource as never,
    });
    expect(response.status).toBe(201);
    const body = response.body;
    const created =
      body?.kind === 'resource' ? body.resource : JSON.parse(body?.kind === 'json' ? body.json : '{}');
    return String(created.id);
  }

  const encounterOf = (patient: string, hospital: string) => ({
    resourceType: 'Encounter',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${patient}` },
    serviceProvider: { reference: `Organization/${hospital}` },
  });

  beforeAll(async () => {
    t = await createIdentityTestApp(database);
    const scopes = ['openid', 'fhirUser', 'launch', 'launch/patient', 'patient/*.rs'];
    appId = (
      await t.identity.clients.add({
        name: 'Growth chart',
        kind: 'public',
        redirectUris: [REDIRECT_URI],
        scopes,
      })
    ).client.clientId;
    otherAppId = (
      await t.identity.clients.add({
        name: 'Other app',
        kind: 'public',
        redirectUris: ['http://other.test/callback'],
        scopes,
      })
    ).client.clientId;
    // The EHR: a backend client of the hospital, reaching the hospital's patients and encounters.
    const ehr = await t.identity.clients.add({
      name: 'Hospital EHR',
      kind: 'backend',
      scopes: ['system/Patient.rs', 'system/Encounter.rs'],
      organization: 'Organization/hospital-1',
    });
    const token = await clientCredentialsToken(
      t.app,
      ehr.client.clientId,
      ehr.clientSecret ?? '',
      'system/Patient.rs system/Encounter.rs',
    );
    expect(token.status).toBe(200);
    ehrToken = String(token.body.access_token);

    patientId = await create(patient({ family: 'Shevchenko' }));
    encounterId = await create(encounterOf(patientId, 'hospital-1'));
    strangerId = await create(patient({ family: 'Franko' }));
    strangerEncounterId = await create(encounterOf(strangerId, 'hospital-2'));
    await create(declaration({ patient: patientId, practitioner: 'p-1' }));
    const user = await t.identity.users.add({
      username: 'dr.lesya',
      password: PASSWORD,
      roles: ['family-doctor'],
      fhirUser: 'Practitioner/p-1',
    });
    mfaSecret = newTotpSecret();
    totpStep = Math.floor(Date.now() / 30_000);
    expect(await t.identity.users.enrolMfa(user.id, mfaSecret, await currentTotp(mfaSecret))).toBe(true);
  });
  afterAll(() => t.close());

  function mint(body: Record<string, unknown>, token: string | null = ehrToken) {
    return t.app.inject({
      method: 'POST',
      url: '/oauth2/launch',
      headers: {
        'content-type': 'application/json',
        ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      },
      payload: JSON.stringify(body),
    });
  }

  function pkce() {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  }

  function authorizeUrl(params: Record<string, string>, challenge: string, clientId = appId): string {
    return `/oauth2/authorize?${form({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      state: 'ehr',
      aud: FHIR_BASE,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...params,
    })}`;
  }

  /** Signs in (password, one-time code) and allows; returns the consent page seen and the code. */
  async function authorize(browser: TestBrowser, url: string) {
    let response = await browser.get(url);
    let consentPage = '';
    while (!location(response).startsWith(REDIRECT_URI)) {
      const page = await browser.get(location(response));
      if (page.statusCode !== 200) {
        response = page;
      } else if (page.body.includes('<h1>Sign in</h1>')) {
        const mfa = await browser.post(formAction(page.body), {
          csrf: formField(page.body, 'csrf'),
          username: 'dr.lesya',
          password: PASSWORD,
        });
        totpStep = Math.max(totpStep + 1, Math.floor(Date.now() / 30_000));
        response = await browser.post(formAction(mfa.body), {
          csrf: formField(mfa.body, 'csrf'),
          code: await currentTotp(mfaSecret, totpStep * 30),
        });
        expect(response.statusCode).toBe(303);
      } else {
        consentPage = page.body;
        expect(consentPage).toContain('Allow access?');
        response = await browser.post(formAction(page.body), {
          csrf: formField(page.body, 'csrf'),
          decision: 'allow',
        });
      }
    }
    return { consentPage, redirect: new URL(location(response)) };
  }

  async function exchange(code: string, verifier: string) {
    const { status, body } = await authorizationCodeToken(t.app, {
      code,
      verifier,
      clientId: appId,
      redirectUri: REDIRECT_URI,
    });
    expect(status).toBe(200);
    return body;
  }

  it('advertises EHR launch in the SMART configuration', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/fhir/.well-known/smart-configuration' });
    expect(json(response.body).capabilities).toEqual(
      expect.arrayContaining(['launch-ehr', 'context-ehr-patient', 'context-ehr-encounter']),
    );
  });

  it('mints a launch only for a caller who may read its patient and encounter', async () => {
    expect((await mint({ patient: patientId }, null)).statusCode).toBe(401);
    expect((await mint({ patient: patientId }, 'not-a-token')).statusCode).toBe(401);
    expect((await mint({})).statusCode).toBe(400);
    expect((await mint({ patient: '../x' })).statusCode).toBe(400);
    expect((await mint({ patient: patientId, client_id: 'no-such-app' })).statusCode).toBe(400);
    // The stranger is another hospital's patient: refused as if it did not exist.
    const stranger = await mint({ patient: strangerId });
    expect(stranger.statusCode).toBe(403);
    expect((await mint({ patient: 'does-not-exist' })).statusCode).toBe(403);
    expect((await mint({ patient: patientId, encounter: strangerEncounterId })).statusCode).toBe(403);
    expect((await mint({ patient: strangerId, encounter: encounterId })).statusCode).toBe(403);

    const minted = await mint({ patient: `Patient/${patientId}`, encounter: `Encounter/${encounterId}` });
    expect(minted.statusCode).toBe(201);
    expect(json(minted.body)).toMatchObject({ launch: expect.any(String), expires_in: 600, iss: FHIR_BASE });
  });

  it('puts the launch’s patient and encounter into the token response, without a patient picker', async () => {
    const { launch } = json(
      (await mint({ patient: patientId, encounter: encounterId, client_id: appId })).body,
    );
    const browser = new TestBrowser(t.app);
    const { verifier, challenge } = pkce();
    const { consentPage, redirect } = await authorize(
      browser,
      authorizeUrl({ scope: 'openid fhirUser launch patient/*.rs', launch: String(launch) }, challenge),
    );
    expect(consentPage).not.toContain('name="patient"');
    const tokens = await exchange(redirect.searchParams.get('code') ?? '', verifier);
    expect(tokens).toMatchObject({ patient: patientId, encounter: encounterId });
    const authorization = `Bearer ${String(tokens.access_token)}`;
    const read = await t.app.inject({
      method: 'GET',
      url: `/fhir/Patient/${patientId}`,
      headers: { authorization },
    });
    expect(read.statusCode).toBe(200);

    // A second launch in the same browser session, for another encounter, gets its own context:
    // the session's earlier grant is not reused.
    const second = await create(encounterOf(patientId, 'hospital-1'));
    const { launch: next } = json((await mint({ patient: patientId, encounter: second })).body);
    const again = pkce();
    const flow = await authorize(
      browser,
      authorizeUrl({ scope: 'openid fhirUser launch patient/*.rs', launch: String(next) }, again.challenge),
    );
    expect(flow.consentPage).toContain('Allow access?');
    const secondTokens = await exchange(flow.redirect.searchParams.get('code') ?? '', again.verifier);
    expect(secondTokens).toMatchObject({ patient: patientId, encounter: second });
  });

  it('refuses an unknown launch, a launch without the launch scope, and another app’s launch', async () => {
    const { launch } = json((await mint({ patient: patientId, client_id: appId })).body);
    const refusal = async (url: string) => {
      const response = await new TestBrowser(t.app).get(url);
      expect(response.statusCode).toBe(303);
      return new URL(location(response)).searchParams;
    };
    const unknown = await refusal(
      authorizeUrl({ scope: 'openid launch', launch: 'made-up' }, pkce().challenge),
    );
    expect(unknown.get('error')).toBe('invalid_request');
    expect(unknown.get('error_description')).toContain('launch');
    const unscoped = await refusal(
      authorizeUrl({ scope: 'openid', launch: String(launch) }, pkce().challenge),
    );
    expect(unscoped.get('error_description')).toContain('launch scope');
    const response = await new TestBrowser(t.app).get(
      `/oauth2/authorize?${form({
        response_type: 'code',
        client_id: otherAppId,
        redirect_uri: 'http://other.test/callback',
        scope: 'openid launch',
        launch: String(launch),
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      })}`,
    );
    expect(new URL(location(response)).searchParams.get('error_description')).toContain('another client');
  });
});
