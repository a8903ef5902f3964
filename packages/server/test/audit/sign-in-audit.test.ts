/**
 * Sign-ins leave BALP Login events (DICOM 110114 / 110122): a person's wrong and right password,
 * and a client's token request (client credentials), granted or refused. Through the real OAuth
 * door, composed as main.ts composes it.
 */
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
import { clientCredentialsToken, FHIR_BASE, form } from '../identity/identity-app.ts';
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
});
