/**
 * Rate limiting (http/rate-limit.ts) over real HTTP: the application as `concordia serve` composes
 * it (store, core, audit, authorization server), listening on a port, with small budgets. Each
 * describe block builds its own server, so budgets never carry over between them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import type { Audit } from '../../src/audit/audit.ts';
import { loadConfig } from '../../src/config.ts';
import { throttleAudit } from '../../src/http/throttle-audit.ts';
import { createIdentity, type Identity } from '../../src/identity/identity.ts';
import { corePatientDirectory } from '../../src/identity/patient-picker.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Database } from '../../src/store/database.ts';
import { sql } from '../../src/store/sql.ts';
import { basic, FORM, form } from '../identity/identity-app.ts';
import { testDatabases } from '../support/databases.ts';

const [database] = testDatabases();
const BASE_URL = 'http://fhir.test';

interface ListeningApp {
  app: FastifyInstance;
  url: string;
  identity: Identity;
  db: Database;
  audit: Audit;
  close(): Promise<void>;
}

async function listeningApp(env: Record<string, string>): Promise<ListeningApp> {
  if (database === undefined) throw new Error('no test database');
  const dataDir = await mkdtemp(join(tmpdir(), 'concordia-rate-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONCORDIA_BASE_URL: BASE_URL,
    CONCORDIA_DATA_DIR: dataDir,
    CONCORDIA_LEDGER: 'off',
    ...env,
  });
  const db = await database.create();
  const logger = createLogger(config);
  const { store, core, audit, worker } = await buildComponents(db, config, logger);
  const identity = await createIdentity({
    config,
    db,
    patients: corePatientDirectory(core),
    signIns: audit.signIns,
  });
  const app = await buildApp({
    config,
    store,
    core,
    logger,
    metrics: createMetrics(),
    identity,
    auditThrottled: throttleAudit({ sink: audit.sink, source: { observer: `${BASE_URL}/fhir` }, logger }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    identity,
    db,
    audit,
    async close() {
      await app.close();
      await worker.stop();
      await audit.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function clientToken(t: ListeningApp, name: string): Promise<string> {
  const registered = await t.identity.clients.add({ name, kind: 'backend', scopes: ['system/*.rs'] });
  const response = await fetch(`${t.url}/oauth2/token`, {
    method: 'POST',
    headers: { ...FORM, authorization: basic(registered.client.clientId, registered.clientSecret ?? '') },
    body: form({ grant_type: 'client_credentials', scope: 'system/*.rs' }),
  });
  const body: unknown = await response.json();
  if (
    typeof body !== 'object' ||
    body === null ||
    !('access_token' in body) ||
    typeof body.access_token !== 'string'
  )
    throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Waits until the audit sink has written what it holds (refusals are recorded without waiting). */
async function auditSettled(audit: Audit): Promise<void> {
  for (let attempt = 0; attempt < 100 && audit.sink.stats().pending > 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('the api budget: per authenticated client, else per IP address', () => {
  let t: ListeningApp;
  let labToken: string;
  let pharmacyToken: string;
  beforeAll(async () => {
    t = await listeningApp({ CONCORDIA_RATE_LIMIT_MAX: '4', CONCORDIA_RATE_LIMIT_SIGN_IN_MAX: '100' });
    labToken = await clientToken(t, 'Lab system');
    pharmacyToken = await clientToken(t, 'Pharmacy system');
  });
  afterAll(() => t.close());

  const read = (token?: string) =>
    fetch(`${t.url}/fhir/Patient/throttled-1`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });

  it('refuses a client over its budget with 429, Retry-After and an OperationOutcome (code throttled)', async () => {
    for (let i = 0; i < 4; i++) expect((await read(labToken)).status).toBe(404);
    const refused = await read(labToken);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/fhir+json');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused.json()).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'throttled', diagnostics: expect.stringContaining('at most 4 per 60 s') },
      ],
    });
  });

  it('counts another client, and requests without a token, apart: they are still served', async () => {
    expect((await read(pharmacyToken)).status).toBe(404);
    // No token: counted against 127.0.0.1, a budget of its own (401: tokens are required).
    expect((await read()).status).toBe(401);
  });

  it('counts a token that does not verify against its address, so no client can choose its own key', async () => {
    const forged = (n: number) => read(`forged.token.${n}`);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await forged(i)).status);
    // One request without a token was already counted for 127.0.0.1 above.
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('never counts health, readiness and metrics, and counts refusals in http_requests_throttled_total', async () => {
    for (let i = 0; i < 10; i++) expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^http_requests_throttled_total\{budget="api"\} 2$/m);
  });

  it('audits the first refusal of each key in each window, with who was refused and what they asked for', async () => {
    for (let i = 0; i < 3; i++) expect((await read(labToken)).status).toBe(429);
    await auditSettled(t.audit);
    const rows = await t.db.query(
      sql`select outcome, outcome_desc, actor, client_id, source_ip, entities, patients
          from audit_access where outcome_desc like 'Too many requests%' order by recorded`,
    );
    expect(rows).toHaveLength(2);
    const [client, address] = rows;
    expect(client).toMatchObject({
      outcome: '4',
      actor: 'client',
      source_ip: '127.0.0.1',
      entities: ['Patient/throttled-1'],
      patients: ['Patient/throttled-1'],
    });
    expect(String(client?.outcome_desc)).toContain('GET /fhir/Patient/throttled-1');
    expect(address).toMatchObject({ outcome: '4', actor: 'anonymous', source_ip: '127.0.0.1' });
    expect(String(address?.outcome_desc)).toContain('counted as ip:127.0.0.1');
  });
});

describe('the sign-in budget: password, one-time code and token requests per IP address', () => {
  let t: ListeningApp;
  beforeAll(async () => {
    t = await listeningApp({ CONCORDIA_RATE_LIMIT_MAX: '1000', CONCORDIA_RATE_LIMIT_SIGN_IN_MAX: '3' });
  });
  afterAll(() => t.close());

  const badToken = () =>
    fetch(`${t.url}/oauth2/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic('no-such-client', 'guess') },
      body: form({ grant_type: 'client_credentials', scope: 'system/*.rs' }),
    });

  it('answers the token endpoint over budget with 429, Retry-After and an RFC 6749 error object', async () => {
    for (let i = 0; i < 3; i++) expect((await badToken()).status).toBe(401);
    const refused = await badToken();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(await refused.json()).toMatchObject({
      error: 'temporarily_unavailable',
      error_description: expect.stringContaining('Too many sign-in and token requests'),
    });
  });

  it('refuses password posts from the same address with a page a person can read', async () => {
    const refused = await fetch(`${t.url}/oauth2/interaction/some-interaction/login`, {
      method: 'POST',
      headers: FORM,
      body: form({ username: 'dr.who', password: 'guess', csrf: 'x' }),
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('text/html');
    expect(await refused.text()).toContain('Too many sign-in and token requests');
  });

  it('leaves the rest of the server to that address: only the sign-in budget is spent', async () => {
    expect((await fetch(`${t.url}/fhir/metadata`)).status).toBe(200);
    expect((await fetch(`${t.url}/oauth2/jwks`)).status).toBe(200);
  });

  it('audits the refusal as a failed Login event (BALP), once per address and window', async () => {
    await auditSettled(t.audit);
    const rows = await t.db.query(
      sql`select type, subtype, outcome, source_ip, content from audit_event
          where content::text like '%Too many sign-in%'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: '110114', outcome: '4', source_ip: '127.0.0.1' });
    expect(rows[0]?.subtype).toContain('110122');
  });
});

describe('CONCORDIA_TRUST_PROXY: the address a trusted proxy names is the one counted', () => {
  let t: ListeningApp;
  beforeAll(async () => {
    t = await listeningApp({ CONCORDIA_RATE_LIMIT_MAX: '2', CONCORDIA_TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(() => t.close());

  const fromClient = (address: string) =>
    fetch(`${t.url}/fhir/Patient`, { headers: { 'x-forwarded-for': address } });

  it('gives each client address behind the proxy a budget of its own', async () => {
    const first = [
      await fromClient('203.0.113.7'),
      await fromClient('203.0.113.7'),
      await fromClient('203.0.113.7'),
    ];
    expect(first.map((response) => response.status)).toEqual([401, 401, 429]);
    expect((await fromClient('198.51.100.20')).status).toBe(401);
  });

  it('counts IPv6 clients by their /64 network', async () => {
    expect((await fromClient('2001:db8:1:2::10')).status).toBe(401);
    expect((await fromClient('2001:db8:1:2::99')).status).toBe(401);
    expect((await fromClient('2001:db8:1:2:ffff::1')).status).toBe(429);
  });
});

describe('without a trusted proxy, X-Forwarded-For is ignored', () => {
  let t: ListeningApp;
  beforeAll(async () => {
    t = await listeningApp({ CONCORDIA_RATE_LIMIT_MAX: '2' });
  });
  afterAll(() => t.close());

  it('counts the socket’s address whatever the header says', async () => {
    const statuses: number[] = [];
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      statuses.push(
        (await fetch(`${t.url}/fhir/Patient`, { headers: { 'x-forwarded-for': address } })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 429]);
  });
});

describe('CONCORDIA_RATE_LIMIT=off', () => {
  let t: ListeningApp;
  beforeAll(async () => {
    t = await listeningApp({ CONCORDIA_RATE_LIMIT: 'off', CONCORDIA_RATE_LIMIT_MAX: '1' });
  });
  afterAll(() => t.close());

  it('counts nothing', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${t.url}/fhir/Patient`)).status).toBe(401);
  });
});
