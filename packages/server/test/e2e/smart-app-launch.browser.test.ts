/**
 * SMART App Launch end to end in a real browser: the SMART project's own JavaScript client
 * (`fhirclient`, its browser build) runs in a page on another site (http://localhost:<port>) than
 * the server (http://127.0.0.1:<port>), and headless Chromium, driven by Playwright, does what a
 * person does — sign in, enrol the second factor, consent and pick the patient. The app then reads
 * with the token it got (PKCE S256, the token endpoint and the FHIR API called across origins) and
 * is refused what its scopes do not cover.
 *
 * Skips without Chromium (see browser-support.ts), except under CONCORDIA_REQUIRE_ALL=1.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import { declaration } from '../access/access-fixtures.ts';
import { createIdentityTestApp, type IdentityTestApp } from '../identity/identity-app.ts';
import { testDatabases } from '../support/databases.ts';
import { observation, patient } from '../support/test-app.ts';
import { chromiumExecutable, freePort, type StaticSite, serveStatic, totp } from './browser-support.ts';

const executablePath = chromiumExecutable();

const SCOPE = 'openid fhirUser launch/patient patient/Patient.rs patient/Observation.rs offline_access';
/** EHR launch: `launch` instead of `launch/patient` (fhirclient adds it only if no scope says "launch"). */
const EHR_SCOPE = 'openid fhirUser launch patient/Patient.rs patient/Observation.rs';
const PASSWORD = 'correct horse battery staple';

const fhirClientBuild = join(
  dirname(createRequire(import.meta.url).resolve('fhirclient/package.json')),
  'build',
  'fhir-client.js',
);

/** The app: `launch.html` starts the authorization (standalone: `?iss=`; EHR: `?iss=&launch=`). */
function launchPage(clientId: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Growth chart</title>
<script src="/fhir-client.js"></script></head>
<body><p id="status">Launching…</p>
<script>
const ehr = new URLSearchParams(location.search).has('launch');
FHIR.oauth2
  .authorize({
    clientId: ${JSON.stringify(clientId)},
    scope: ehr ? ${JSON.stringify(EHR_SCOPE)} : ${JSON.stringify(SCOPE)},
    redirectUri: '/callback.html',
    pkceMode: 'required',
  })
  .catch((error) => { document.getElementById('status').textContent = 'authorize failed: ' + error.message; });
</script></body></html>`;
}

/** `callback.html` finishes the flow and shows what the app could and could not read. */
const CALLBACK_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Growth chart</title>
<script src="/fhir-client.js"></script></head>
<body><pre id="result"></pre>
<script>
const out = document.getElementById('result');
const show = (state, data) => { out.textContent = JSON.stringify(data); out.dataset.state = state; };
// fhirclient's HttpError carries the status, and the body it read in its message.
const refusal = (error) => ({ status: error.status ?? null, message: String(error.message) });
FHIR.oauth2.ready().then(async (client) => {
  const tokens = client.state.tokenResponse;
  const result = {
    patient: client.patient.id,
    encounter: client.encounter.id ?? null,
    fhirUser: client.getFhirUser() ?? null,
    scope: tokens.scope,
    hasRefreshToken: typeof tokens.refresh_token === 'string',
  };
  const record = await client.patient.read();
  result.family = record.name[0].family;
  const observations = await client.request('Observation?patient=' + client.patient.id, { flat: true });
  result.observations = observations.map((item) => item.code.coding[0].code).sort();
  try {
    await client.request('Condition?patient=' + client.patient.id);
    result.conditions = 'read';
  } catch (error) {
    result.conditions = refusal(error);
  }
  show('done', result);
}).catch((error) => show('failed', { message: String(error && error.message || error) }));
</script></body></html>`;

describe.skipIf(executablePath === undefined).each(testDatabases())(
  'SMART App Launch with fhirclient in headless Chromium on $name',
  (database) => {
    let t: IdentityTestApp;
    let site: StaticSite;
    let browser: Browser;
    let fhirBase: string;
    let clientId: string;
    let patientId: string;
    let encounterId: string;
    let ehrToken: string;
    /** The clinician's TOTP key, from the enrolment page, and the last time step used. */
    let mfa: { secret: string; step: number } | undefined;

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

    beforeAll(async () => {
      const port = await freePort();
      t = await createIdentityTestApp(database, { CONCORDIA_BASE_URL: `http://127.0.0.1:${port}` });
      await t.app.listen({ port, host: '127.0.0.1' });
      fhirBase = `${t.config.baseUrl}/fhir`;

      patientId = await create(patient({ family: 'Shevchenko' }));
      await create(patient({ family: 'Franko' }));
      await create(observation(`Patient/${patientId}`, '8867-4'));
      await create(observation(`Patient/${patientId}`, '29463-7'));
      await create({
        resourceType: 'Condition',
        subject: { reference: `Patient/${patientId}` },
        code: { text: 'Asthma' },
      });
      await create(declaration({ patient: patientId, practitioner: 'p-1' }));
      encounterId = await create({
        resourceType: 'Encounter',
        status: 'in-progress',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${patientId}` },
        serviceProvider: { reference: 'Organization/hospital-1' },
      });
      // The EHR that launches the app: a backend client of the hospital.
      const ehr = await t.identity.clients.add({
        name: 'Hospital EHR',
        kind: 'backend',
        scopes: ['system/Patient.rs', 'system/Encounter.rs'],
        organization: 'Organization/hospital-1',
      });
      const token = await fetch(`${t.config.baseUrl}/oauth2/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${ehr.client.clientId}:${ehr.clientSecret ?? ''}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          scope: 'system/Patient.rs system/Encounter.rs',
        }),
      });
      expect(token.status).toBe(200);
      ehrToken = String(((await token.json()) as Record<string, unknown>).access_token);
      await t.identity.users.add({
        username: 'dr.lesya',
        password: PASSWORD,
        roles: ['family-doctor'],
        fhirUser: 'Practitioner/p-1',
      });

      // The app's origin is known only once it listens; its pages name the client registered for it.
      site = await serveStaticApp();
      browser = await chromium.launch({
        executablePath,
        headless: true,
        // Root in a container has no user namespaces for Chromium's sandbox.
        args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
      });
    });

    async function serveStaticApp(): Promise<StaticSite> {
      const appPort = await freePort();
      const origin = `http://localhost:${appPort}`;
      const registered = await t.identity.clients.add({
        name: 'Growth chart',
        kind: 'public',
        redirectUris: [`${origin}/callback.html`],
        scopes: ['openid', 'fhirUser', 'offline_access', 'launch', 'launch/patient', 'patient/*.rs'],
      });
      clientId = registered.client.clientId;
      return serveStatic(
        { '/launch.html': launchPage(clientId), '/callback.html': CALLBACK_PAGE },
        { '/fhir-client.js': fhirClientBuild },
        appPort,
      );
    }

    afterAll(async () => {
      await browser?.close();
      await site?.close();
      await t?.close();
    });

    /** Waits for the page to reach `url`; a failure says where the browser is stuck, and why. */
    async function arrive(page: Page, url: string, console: string[]): Promise<void> {
      try {
        await page.waitForURL(url, { timeout: 30_000 });
      } catch (error) {
        const text = await page
          .locator('body')
          .textContent()
          .catch(() => '(no page)');
        throw new Error(
          `expected ${url}, the browser is at ${page.url()} showing ${JSON.stringify(text)}; console: ${console.join(' | ')}`,
          { cause: error },
        );
      }
    }

    async function result(page: Page): Promise<Record<string, unknown>> {
      const output = page.locator('#result[data-state]');
      await output.waitFor({ timeout: 30_000 });
      const state = await output.getAttribute('data-state');
      const data = JSON.parse((await output.textContent()) ?? '{}');
      if (state !== 'done') throw new Error(`the app failed: ${JSON.stringify(data)}`);
      return data;
    }

    it('signs in with TOTP enrolment, consents with the patient picker, reads within the scopes and is refused outside them', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const messages: string[] = [];
      page.on('console', (message) => messages.push(message.text()));
      const crossOrigin: string[] = [];
      page.on('request', (request) => {
        const script = ['fetch', 'xhr'].includes(request.resourceType());
        if (script && request.url().startsWith(t.config.baseUrl))
          crossOrigin.push(`${request.method()} ${new URL(request.url()).pathname}`);
      });

      await page.goto(`${site.origin}/launch.html?iss=${encodeURIComponent(fhirBase)}`);
      await arrive(page, `${t.config.baseUrl}/oauth2/interaction/**`, messages);
      await page.locator('h1', { hasText: 'Sign in' }).waitFor();
      await page.getByLabel('User name').fill('dr.lesya');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();

      await page.locator('h1', { hasText: 'Set up your second factor' }).waitFor();
      const secret = (await page.locator('code').first().textContent()) ?? '';
      expect(secret).toMatch(/^[A-Z2-7]+$/);
      const now = Date.now() / 1000;
      mfa = { secret, step: Math.floor(now / 30) };
      await page.getByLabel('One-time code').fill(totp(secret, now));
      await page.getByRole('button', { name: 'Finish set-up' }).click();

      await page.locator('h1', { hasText: 'Allow access?' }).waitFor();
      expect(await page.locator('main').textContent()).toContain('patient/Observation.rs');
      await page.getByLabel('Patient').selectOption(patientId);
      await page.getByRole('button', { name: 'Allow' }).click();

      await arrive(page, `${site.origin}/callback.html**`, messages);
      const app = await result(page);
      expect(app).toMatchObject({
        patient: patientId,
        encounter: null,
        fhirUser: 'Practitioner/p-1',
        hasRefreshToken: true,
        family: 'Shevchenko',
        observations: ['29463-7', '8867-4'],
      });
      expect(String(app.scope).split(' ')).toEqual(
        expect.arrayContaining(['patient/Patient.rs', 'patient/Observation.rs']),
      );
      expect(String(app.scope)).not.toContain('Condition');
      // Condition is in the doctor's reach but not in the app's scopes.
      expect(app.conditions).toMatchObject({ status: 403 });
      expect(String((app.conditions as { message: string }).message)).toContain(
        '"resourceType": "OperationOutcome"',
      );
      // Discovery, the token endpoint and the FHIR API were all called by the page across origins.
      expect(crossOrigin).toEqual(
        expect.arrayContaining([
          'GET /fhir/.well-known/smart-configuration',
          'POST /oauth2/token',
          `GET /fhir/Patient/${patientId}`,
        ]),
      );
      await context.close();
    });

    it('launches from the EHR with patient and encounter, after password and one-time code, without a picker', async () => {
      // The clinician enrolled their second factor in the standalone launch above.
      if (mfa === undefined) throw new Error('runs after the standalone launch, which enrols the TOTP key');
      const minted = await fetch(`${t.config.baseUrl}/oauth2/launch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ehrToken}` },
        body: JSON.stringify({ patient: patientId, encounter: encounterId, client_id: clientId }),
      });
      expect(minted.status).toBe(201);
      const { launch, iss } = (await minted.json()) as { launch: string; iss: string };
      expect(iss).toBe(fhirBase);

      const context = await browser.newContext();
      const page = await context.newPage();
      const messages: string[] = [];
      page.on('console', (message) => messages.push(message.text()));
      // What an EHR does: open the app's launch URL with iss and launch.
      await page.goto(`${site.origin}/launch.html?${new URLSearchParams({ iss, launch })}`);
      await arrive(page, `${t.config.baseUrl}/oauth2/interaction/**`, messages);
      await page.locator('h1', { hasText: 'Sign in' }).waitFor();
      await page.getByLabel('User name').fill('dr.lesya');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();

      await page.locator('h1', { hasText: 'Enter your one-time code' }).waitFor();
      // A code is good once (RFC 6238 §5.2): use a time step after the enrolment's.
      const step = Math.max(mfa.step + 1, Math.floor(Date.now() / 1000 / 30));
      await page.getByLabel('One-time code').fill(totp(mfa.secret, step * 30));
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.locator('h1', { hasText: 'Allow access?' }).waitFor();
      expect(await page.locator('select[name="patient"]').count()).toBe(0);
      await page.getByRole('button', { name: 'Allow' }).click();

      await arrive(page, `${site.origin}/callback.html**`, messages);
      const app = await result(page);
      expect(app).toMatchObject({
        patient: patientId,
        encounter: encounterId,
        family: 'Shevchenko',
        observations: ['29463-7', '8867-4'],
        conditions: { status: 403 },
      });
      await context.close();
    });
  },
);

describe('the test’s own RFC 6238 implementation', () => {
  it('matches the RFC 6238 appendix B vectors (SHA-1, truncated to 6 digits)', () => {
    const key = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890"
    expect(totp(key, 59)).toBe('287082');
    expect(totp(key, 1111111109)).toBe('081804');
    expect(totp(key, 20000000000)).toBe('353130');
  });
});
