/**
 * The standalone launch's pickers over HTTP, through the real sign-in pages
 * (https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-standalone-launch):
 * `launch/patient` offers only the Patients the signed-in user may read under the access decision
 * (a family doctor their declared patients, a specialist the patients of their episodes), with a
 * name filter and paging; `launch/encounter` then offers that patient's Encounters the user may
 * read, most recent first, and the token response carries `encounter` (scopes-and-launch-context
 * .html#launch-context-arrives-with-your-access_token). A choice posted by hand that the user
 * may not read is refused at the consent step.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FhirResource } from '@concordia/fhir';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/access/roles.ts';
import { currentTotp } from '../../src/identity/totp.ts';
import { type AccessTestApp, createAccessTestApp } from '../access/access-app.ts';
import { declaration, encounter } from '../access/access-fixtures.ts';
import { SCENARIO } from '../access/scenario.ts';
import { testDatabases } from '../support/databases.ts';
import { formAction, formField, location, TestBrowser } from './browser.ts';
import { authorizationCodeToken, FHIR_BASE, form } from './identity-app.ts';

const REDIRECT_URI = 'http://picker.test/callback';
const PASSWORD = 'correct horse battery staple';
const PATIENT_LAUNCH = 'openid fhirUser launch/patient patient/*.rs';
const ENCOUNTER_LAUNCH = 'openid fhirUser launch/patient launch/encounter patient/*.rs';

const DOCTOR = {
  roles: ['family-doctor'] as Role[],
  fhirUser: 'Practitioner/doc',
  organization: 'Organization/org-clinic',
};
const SPECIALIST = {
  roles: ['specialist'] as Role[],
  fhirUser: 'Practitioner/spec',
  organization: 'Organization/org-hospital',
};

/** The choices of a picker's `<select>`, in order. */
function choices(html: string, field: 'patient' | 'encounter'): string[] {
  const select = new RegExp(`<select id="${field}"[^>]*>([\\s\\S]*?)</select>`).exec(html)?.[1] ?? '';
  return [...select.matchAll(/<option value="([^"]+)">/g)].map((match) => match[1] ?? '');
}

function link(html: string, text: string): string | undefined {
  const found = new RegExp(`<a href="([^"]+)">${text}</a>`).exec(html)?.[1];
  return found?.replaceAll('&amp;', '&');
}

describe.each(testDatabases())('standalone launch pickers on $name', (database) => {
  let t: AccessTestApp;
  let clientId: string;
  let users = 0;

  beforeAll(async () => {
    t = await createAccessTestApp(database);
    await t.put(SCENARIO);
    // pat-a's encounters with dates, for "most recent first"; the doctor reaches all of pat-a's.
    await t.put([
      { ...encounter({ id: 'enc-a-old', patient: 'pat-a' }), period: { start: '2025-03-01' } },
      { ...encounter({ id: 'enc-a-new', patient: 'pat-a' }), period: { start: '2026-10-01' } },
    ]);
    // 52 patients declared with one doctor: more than one page (50) of the picker.
    const many: FhirResource[] = [];
    for (let n = 0; n < 52; n++) {
      const id = `many-${String(n).padStart(2, '0')}`;
      many.push({ resourceType: 'Patient', id, name: [{ family: `Many${String(n).padStart(2, '0')}` }] });
      many.push(declaration({ id: `decl-${id}`, patient: id, practitioner: 'busy' }));
    }
    await t.put(many);
    const { client } = await t.identity.clients.add({
      name: 'Picker app',
      kind: 'public',
      redirectUris: [REDIRECT_URI],
      scopes: ENCOUNTER_LAUNCH.split(' '),
    });
    clientId = client.clientId;
  }, 120_000);
  afterAll(() => t.close());

  /** Signs a new user in (password, TOTP enrolment) and returns the consent page. */
  async function consentFor(
    user: { roles: Role[]; fhirUser?: string; organization?: string },
    scope: string,
  ) {
    users += 1;
    const username = `picker-${users}`;
    await t.identity.users.add({ ...user, username, password: PASSWORD });
    const verifier = randomBytes(32).toString('base64url');
    const browser = new TestBrowser(t.app);
    let step = await browser.get(
      `/oauth2/authorize?${form({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
        scope,
        state: 'picker',
        aud: FHIR_BASE,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      })}`,
    );
    for (let hops = 0; hops < 12; hops++) {
      const page = await browser.get(location(step));
      if (page.statusCode !== 200) {
        step = page;
        continue;
      }
      if (page.body.includes('Allow access?')) return { browser, page, verifier, url: location(step) };
      step = await browser.post(formAction(page.body), {
        csrf: formField(page.body, 'csrf'),
        username,
        password: PASSWORD,
      });
      const secret = /<code>([A-Z2-7]+)<\/code>/.exec(step.body)?.[1];
      if (step.statusCode === 200 && secret !== undefined) {
        step = await browser.post(formAction(step.body), {
          csrf: formField(step.body, 'csrf'),
          code: await currentTotp(secret),
        });
      }
    }
    throw new Error('no consent page');
  }

  async function post(browser: TestBrowser, page: LightMyRequestResponse, values: Record<string, string>) {
    return browser.post(formAction(page.body), { csrf: formField(page.body, 'csrf'), ...values });
  }

  /** Follows the consent's redirects to the app and exchanges the code. */
  async function tokenAfter(browser: TestBrowser, step: LightMyRequestResponse, verifier: string) {
    let current = step;
    for (let hops = 0; !location(current).startsWith(REDIRECT_URI); hops++) {
      expect(hops).toBeLessThan(6);
      current = await browser.get(location(current));
    }
    const code = new URL(location(current)).searchParams.get('code') ?? '';
    return authorizationCodeToken(t.app, { code, verifier, clientId, redirectUri: REDIRECT_URI });
  }

  it('lists only the patients the user may read: a family doctor’s declared patients, a specialist’s episodes’ patients', async () => {
    const doctor = await consentFor(DOCTOR, PATIENT_LAUNCH);
    // pat-c is declared too, but her Consent denies the doctor; pat-b and pat-d are not his.
    expect(choices(doctor.page.body, 'patient')).toEqual(['pat-a']);
    const specialist = await consentFor(SPECIALIST, PATIENT_LAUNCH);
    expect(choices(specialist.page.body, 'patient')).toEqual(['pat-a', 'pat-d']);
  });

  it('filters by name with the FHIR name search and pages forward and back to the first page', async () => {
    const specialist = await consentFor(SPECIALIST, PATIENT_LAUNCH);
    const filtered = await specialist.browser.get(`${specialist.url}?name=Del`);
    expect(filtered.statusCode).toBe(200);
    expect(choices(filtered.body, 'patient')).toEqual(['pat-d']);
    expect(filtered.body).toContain('value="Del"');
    // Bravo exists, but not among the specialist's patients: the picker says none match.
    const hidden = await specialist.browser.get(`${specialist.url}?name=Bravo`);
    expect(choices(hidden.body, 'patient')).toEqual([]);
    expect(hidden.body).toContain('No patients named “Bravo” whose records you may open.');

    const busy = await consentFor(
      { roles: ['family-doctor'], fhirUser: 'Practitioner/busy' },
      PATIENT_LAUNCH,
    );
    const first = choices(busy.page.body, 'patient');
    expect(first).toHaveLength(50);
    const more = link(busy.page.body, 'More patients');
    expect(more).toBeDefined();
    const second = await busy.browser.get(more ?? '');
    const rest = choices(second.body, 'patient');
    expect(rest).toEqual(['many-50', 'many-51']);
    expect(new Set([...first, ...rest]).size).toBe(52);
    expect(link(second.body, 'More patients')).toBeUndefined();
    const back = await busy.browser.get(link(second.body, 'First patients') ?? '');
    expect(choices(back.body, 'patient')).toEqual(first);
  });

  it('refuses at the consent step a patient posted by hand that the user may not read, as one that does not exist', async () => {
    const doctor = await consentFor(DOCTOR, PATIENT_LAUNCH);
    const hidden = await post(doctor.browser, doctor.page, { decision: 'allow', patient: 'pat-b' });
    const absent = await post(doctor.browser, doctor.page, { decision: 'allow', patient: 'pat-zz' });
    expect(hidden.statusCode).toBe(400);
    expect(absent.statusCode).toBe(400);
    expect(hidden.body).toContain('Choose a patient from the list.');
    expect(hidden.body.replace(/value="[^"]*"/g, '')).toBe(absent.body.replace(/value="[^"]*"/g, ''));
    const chosen = await post(doctor.browser, doctor.page, { decision: 'allow', patient: 'pat-a' });
    expect(chosen.statusCode).toBe(303);
    const token = await tokenAfter(doctor.browser, chosen, doctor.verifier);
    expect(token.status).toBe(200);
    expect(token.body.patient).toBe('pat-a');
    expect(token.body.encounter).toBeUndefined();
  });

  it('then offers the chosen patient’s encounters the user may read, most recent first, and returns the encounter beside the token', async () => {
    const doctor = await consentFor(DOCTOR, ENCOUNTER_LAUNCH);
    expect(doctor.page.body).toContain('>Continue</button>');
    const encounters = await post(doctor.browser, doctor.page, { decision: 'allow', patient: 'pat-a' });
    expect(encounters.statusCode).toBe(200);
    const offered = choices(encounters.body, 'encounter');
    expect(offered.slice(0, 2)).toEqual(['enc-a-new', 'enc-a-old']);
    expect([...offered].sort()).toEqual(['enc-a-new', 'enc-a-old', 'enc-a1', 'enc-a2']);
    expect(formField(encounters.body, 'patient')).toBe('pat-a');
    const chosen = await post(doctor.browser, encounters, {
      decision: 'allow',
      patient: 'pat-a',
      encounter: 'enc-a-new',
    });
    expect(chosen.statusCode).toBe(303);
    const token = await tokenAfter(doctor.browser, chosen, doctor.verifier);
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ patient: 'pat-a', encounter: 'enc-a-new' });
    expect(String(token.body.scope).split(' ')).toContain('launch/encounter');
  });

  it('refuses an encounter the user may not read, one of another patient, and none when the app asked for one', async () => {
    const specialist = await consentFor(SPECIALIST, ENCOUNTER_LAUNCH);
    const encounters = await post(specialist.browser, specialist.page, {
      decision: 'allow',
      patient: 'pat-a',
    });
    // The specialist takes part in enc-a2 only; enc-a1 is the clinic's.
    expect(choices(encounters.body, 'encounter')).toEqual(['enc-a2']);
    for (const encounter of ['enc-a1', 'enc-d', '']) {
      const refused = await post(specialist.browser, encounters, {
        decision: 'allow',
        patient: 'pat-a',
        encounter,
      });
      expect(refused.statusCode, encounter).toBe(400);
      expect(refused.body).toContain('Choose an encounter from the list.');
    }
    // A patient the specialist may not read, carried by a hand-made link, gets the patient picker.
    const forged = await specialist.browser.get(`${specialist.url}?patient=pat-b`);
    expect(choices(forged.body, 'patient')).toEqual(['pat-a', 'pat-d']);
    const chosen = await post(specialist.browser, encounters, {
      decision: 'allow',
      patient: 'pat-a',
      encounter: 'enc-a2',
    });
    const token = await tokenAfter(specialist.browser, chosen, specialist.verifier);
    expect(token.body).toMatchObject({ patient: 'pat-a', encounter: 'enc-a2' });
  });

  it('offers a patient signed in for their own record only their encounters (no patient picker)', async () => {
    const patient = await consentFor({ roles: ['patient'], fhirUser: 'Patient/pat-b' }, ENCOUNTER_LAUNCH);
    expect(choices(patient.page.body, 'patient')).toEqual([]);
    expect(choices(patient.page.body, 'encounter')).toEqual(['enc-b1']);
    expect(patient.page.body).not.toContain('choose another patient');
    const chosen = await post(patient.browser, patient.page, {
      decision: 'allow',
      patient: 'pat-b',
      encounter: 'enc-b1',
    });
    const token = await tokenAfter(patient.browser, chosen, patient.verifier);
    expect(token.body).toMatchObject({ patient: 'pat-b', encounter: 'enc-b1' });
  });
});
