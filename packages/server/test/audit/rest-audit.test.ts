/**
 * Every REST interaction leaves its AuditEvent (DESIGN.md D7, IHE BALP): writes in their own
 * transaction, everything else through the batched sink; refusals and failures too. Runs on every
 * configured database through the real HTTP door.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseScopes } from '../../src/access/smart-scopes.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import {
  at,
  createTestApp,
  FHIR_JSON,
  json,
  observation,
  patient,
  type TestApp,
} from '../support/test-app.ts';
import { eventsOf, queryOf, type StoredAuditEvent, storedAuditEvents } from './audit-support.ts';

for (const database of testDatabases()) {
  describe(`REST audit on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    async function create(resource: Record<string, unknown>): Promise<string> {
      const response = await t.app.inject({
        method: 'POST',
        url: `/fhir/${String(resource.resourceType)}`,
        headers: FHIR_JSON,
        payload: resource,
      });
      expect(response.statusCode).toBe(201);
      return String(json(response.body).id);
    }

    async function newEvents<T>(work: () => Promise<T>): Promise<{ result: T; events: StoredAuditEvent[] }> {
      const before = new Set((await storedAuditEvents(t)).map((event) => event.id));
      const result = await work();
      const events = (await storedAuditEvents(t)).filter((event) => !before.has(event.id));
      return { result, events };
    }

    it('records a read as BALP rest/read, action R, with the patient and the network address (auditevent.html)', async () => {
      const id = await create(patient());
      const { events } = await newEvents(() =>
        t.app.inject({
          method: 'GET',
          url: `/fhir/Patient/${id}`,
          headers: { 'user-agent': 'audit-test/1' },
        }),
      );
      expect(events).toHaveLength(1);
      const [event] = events;
      expect(event?.subtype).toEqual(['read']);
      expect(event?.action).toBe('R');
      expect(event?.outcome).toBe('0');
      expect(event?.patient).toEqual([`Patient/${id}`]);
      expect(at(event?.event, 'type', 'code')).toBe('rest');
      expect(at(event?.event, 'type', 'system')).toBe(
        'http://terminology.hl7.org/CodeSystem/audit-event-type',
      );
      expect(at(event?.event, 'subtype', 0, 'system')).toBe('http://hl7.org/fhir/restful-interaction');
      const requestor = agents(event).find((agent) => agent.requestor === true);
      expect(at(requestor, 'network', 'address')).toBe('127.0.0.1');
      expect(at(requestor, 'name')).toBe('audit-test/1');
      expect(at(event?.event, 'source', 'observer', 'display')).toBe('http://fhir.test/fhir');
      expect(entityRoles(event)).toEqual(
        expect.arrayContaining([
          { what: `Patient/${id}`, role: '4' },
          { what: `Patient/${id}`, role: '1' },
        ]),
      );
    });

    it('records a read of a clinical resource with the patient it is about', async () => {
      const patientId = await create(patient());
      const observationId = await create(observation(`Patient/${patientId}`));
      const { events } = await newEvents(() =>
        t.app.inject({ method: 'GET', url: `/fhir/Observation/${observationId}` }),
      );
      expect(events.map((event) => event.patient)).toEqual([[`Patient/${patientId}`]]);
      expect(events[0]?.entity).toContain(`Observation/${observationId}`);
    });

    it('records a vread with the version read', async () => {
      const id = await create(patient());
      const { events } = await newEvents(() =>
        t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/_history/1` }),
      );
      expect(events.map((event) => [event.subtype, event.action, event.entity[0]])).toEqual([
        [['vread'], 'R', `Patient/${id}/_history/1`],
      ]);
    });

    it('records a search with its query (base64, BALP entity[query]) and the patients of its results', async () => {
      const first = await create(patient({ family: 'Auditsearch' }));
      const second = await create(patient({ family: 'Auditsearch' }));
      const { events } = await newEvents(() =>
        t.app.inject({ method: 'GET', url: '/fhir/Patient?family=Auditsearch' }),
      );
      expect(events).toHaveLength(1);
      const [event] = events;
      expect(event?.subtype).toEqual(['search-type']);
      expect(event?.action).toBe('E');
      expect(queryOf(event?.event ?? {})).toBe('family=Auditsearch');
      expect(event?.patient.sort()).toEqual([`Patient/${first}`, `Patient/${second}`].sort());
    });

    it('records the patients of compartment members found by a search', async () => {
      const patientId = await create(patient());
      await create(observation(`Patient/${patientId}`));
      const { events } = await newEvents(() =>
        t.app.inject({ method: 'GET', url: `/fhir/Observation?code=8867-4&_count=1000` }),
      );
      expect(events[0]?.patient).toContain(`Patient/${patientId}`);
    });

    it('records history as a read of the versions', async () => {
      const id = await create(patient());
      const { events } = await newEvents(() =>
        t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/_history` }),
      );
      expect(events.map((event) => [event.subtype, event.action, event.patient])).toEqual([
        [['history-instance'], 'R', [`Patient/${id}`]],
      ]);
    });

    it('records create, update, patch and delete once each, with the version written (C, U, U, D)', async () => {
      const { result: id, events: created } = await newEvents(() => create(patient()));
      const { events: updated } = await newEvents(() =>
        t.app.inject({
          method: 'PUT',
          url: `/fhir/Patient/${id}`,
          headers: FHIR_JSON,
          payload: { ...patient(), id },
        }),
      );
      const { events: patched } = await newEvents(() =>
        t.app.inject({
          method: 'PATCH',
          url: `/fhir/Patient/${id}`,
          headers: { 'content-type': 'application/json-patch+json' },
          payload: [{ op: 'replace', path: '/gender', value: 'male' }],
        }),
      );
      const { events: deleted } = await newEvents(() =>
        t.app.inject({ method: 'DELETE', url: `/fhir/Patient/${id}` }),
      );
      const summary = (events: StoredAuditEvent[]) =>
        events.map((event) => [event.subtype[0], event.action, event.entity[0], event.patient]);
      expect(summary(created)).toEqual([['create', 'C', `Patient/${id}/_history/1`, [`Patient/${id}`]]]);
      expect(summary(updated)).toEqual([['update', 'U', `Patient/${id}/_history/2`, [`Patient/${id}`]]]);
      expect(summary(patched)).toEqual([['patch', 'U', `Patient/${id}/_history/3`, [`Patient/${id}`]]]);
      expect(summary(deleted)).toEqual([['delete', 'D', `Patient/${id}/_history/4`, [`Patient/${id}`]]]);
    });

    it('records a failed write with its outcome description and no version', async () => {
      const { events } = await newEvents(() =>
        t.app.inject({
          method: 'PUT',
          url: '/fhir/Patient/abc',
          headers: FHIR_JSON,
          payload: { resourceType: 'Observation', id: 'abc' },
        }),
      );
      expect(events).toHaveLength(1);
      expect(events[0]?.outcome).toBe('4');
      expect(events[0]?.subtype).toEqual(['update']);
      expect(String(at(events[0]?.event, 'outcomeDesc'))).not.toBe('');
    });

    it('records each version a transaction writes, and the transaction itself as one event', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:p1', resource: patient(), request: { method: 'POST', url: 'Patient' } },
          { resource: observation('urn:uuid:p1'), request: { method: 'POST', url: 'Observation' } },
        ],
      };
      const { events } = await newEvents(() =>
        t.app.inject({ method: 'POST', url: '/fhir', headers: FHIR_JSON, payload: bundle }),
      );
      const creates = events.filter((event) => event.subtype.includes('create'));
      const transactions = events.filter((event) => event.subtype.includes('transaction'));
      expect(creates).toHaveLength(2);
      expect(transactions).toHaveLength(1);
      const patientRef = creates.find((event) => event.entity[0]?.startsWith('Patient/'))?.entity[1];
      expect(creates.every((event) => event.patient[0] === patientRef)).toBe(true);
      expect(transactions[0]?.entity).toEqual(
        expect.arrayContaining(creates.map((event) => event.entity[0])),
      );
    });

    it('stores the events of a large transaction as one access-log batch with one ledger entry, a small one whole', async () => {
      const transaction = (patients: number) => ({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: Array.from({ length: patients }, () => ({
          resource: patient(),
          request: { method: 'POST', url: 'Patient' },
        })),
      });
      const large = await newEvents(() =>
        t.app.inject({ method: 'POST', url: '/fhir', headers: FHIR_JSON, payload: transaction(10) }),
      );
      const batched = large.events.filter((event) => event.subtype.includes('create'));
      expect(batched).toHaveLength(10);
      // `r<batch>-<position>`: one batch, positions 0…9, each event naming its own Patient.
      const places = batched.map((event) => /^r(\d+)-(\d+)$/.exec(event.id)?.slice(1) ?? []);
      expect(new Set(places.map(([batch]) => batch)).size).toBe(1);
      expect(places.map(([, position]) => Number(position)).sort((a, b) => a - b)).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
      ]);
      expect(
        batched.every(
          (event) =>
            event.action === 'C' && event.patient[0] === event.entity[0]?.replace(/\/_history\/1$/, ''),
        ),
      ).toBe(true);
      const batch = places[0]?.[0];
      const [entries] = await t.database.query(
        sql`select count(*) as n from ledger_entry where reference = ${`AuditAccessBatch/${batch}`}`,
      );
      expect(Number(entries?.n)).toBe(1);

      const small = await newEvents(() =>
        t.app.inject({ method: 'POST', url: '/fhir', headers: FHIR_JSON, payload: transaction(2) }),
      );
      const whole = small.events.filter((event) => event.subtype.includes('create'));
      expect(whole).toHaveLength(2);
      expect(whole.every((event) => /^[0-9a-f-]{36}$/.test(event.id))).toBe(true);
    });

    it('records an operation with its name ($everything) and its patient', async () => {
      const id = await create(patient());
      const { events } = await newEvents(() =>
        t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/$everything` }),
      );
      expect(events.map((event) => [event.subtype, event.action, event.patient])).toEqual([
        [['operation', 'everything'], 'E', [`Patient/${id}`]],
      ]);
    });

    it('records a bulk export kick-off', async () => {
      const { events } = await newEvents(() =>
        t.app.inject({
          method: 'GET',
          url: '/fhir/Patient/$export',
          headers: { accept: 'application/fhir+json', prefer: 'respond-async' },
        }),
      );
      expect(events.map((event) => [event.subtype, event.outcome])).toEqual([[['operation', 'export'], '0']]);
    });

    it('records a request the token scopes refuse (403) with outcome 4 and the client as requestor', async () => {
      const { result: response, events } = await newEvents(() =>
        t.core.handle(
          {
            principal: {
              kind: 'client',
              id: 'lab-system',
              clientId: 'lab-system',
              roles: ['system'],
              scopes: parseScopes('system/Observation.rs'),
              expiresAt: Math.floor(Date.now() / 1000) + 300,
            },
            clientId: 'lab-system',
            sourceIp: '10.1.2.3',
            requestId: 'denied-1',
          },
          { method: 'GET', path: 'Patient/someone', query: [], headers: {} },
        ),
      );
      expect(response.status).toBe(403);
      expect(events).toHaveLength(1);
      expect(events[0]?.outcome).toBe('4');
      expect(events[0]?.patient).toEqual(['Patient/someone']);
      expect(events[0]?.agent).toContain('client:lab-system');
      const client = agents(events[0]).find((agent) => agent.requestor === true);
      expect(at(client, 'who', 'identifier', 'value')).toBe('lab-system');
      expect(at(client, 'network', 'address')).toBe('10.1.2.3');
    });

    it('flags break-the-glass with the BTG security label and the purpose of use', async () => {
      const id = await create(patient());
      const { events } = await newEvents(() =>
        t.core.handle(
          {
            principal: { kind: 'open-development' },
            purposeOfUse: 'ETREAT',
            breakTheGlass: { reason: 'unconscious patient' },
            requestId: 'btg-1',
          },
          { method: 'GET', path: `Patient/${id}`, query: [], headers: {} },
        ),
      );
      expect(events[0]?.breakGlass).toBe(true);
      expect(at(events[0]?.event, 'meta', 'security', 0, 'code')).toBe('BTG');
      expect(at(events[0]?.event, 'purposeOfEvent', 0, 'coding', 0, 'code')).toBe('ETREAT');
      expect(at(events[0]?.event, 'purposeOfEvent', 0, 'text')).toBe('unconscious patient');
    });

    it('records a request whose bearer token does not verify (401, RFC 6750 §3.1) at the HTTP door', async () => {
      const { result: response, events } = await newEvents(() =>
        t.app.inject({
          method: 'GET',
          url: '/fhir/Patient/someone',
          headers: { authorization: 'Bearer forged.token.value', 'user-agent': 'probe/1.0' },
        }),
      );
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(events).toHaveLength(1);
      expect(events[0]?.outcome).toBe('4');
      expect(at(events[0]?.event, 'outcomeDesc')).toEqual(expect.any(String));
      expect(events[0]?.patient).toEqual(['Patient/someone']);
      const requestor = agents(events[0]).find((agent) => agent.requestor === true);
      expect(at(requestor, 'network', 'address')).toBe('127.0.0.1');
    });

    it('does not audit the public CapabilityStatement', async () => {
      const { events } = await newEvents(() => t.app.inject({ method: 'GET', url: '/fhir/metadata' }));
      expect(events).toEqual([]);
    });

    it('stores the read events of many concurrent requests in fewer inserts, none lost (group commit)', async () => {
      const id = await create(patient());
      const before = t.audit.sink.stats();
      const { events } = await newEvents(() =>
        Promise.all(
          Array.from({ length: 40 }, () => t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` })),
        ),
      );
      const after = t.audit.sink.stats();
      expect(events.filter((event) => event.subtype.includes('read'))).toHaveLength(40);
      expect(after.events - before.events).toBe(40);
      expect(after.batches - before.batches).toBeLessThan(40);
    });
  });

  describe(`audit of $import on ${database.name}`, () => {
    let t: TestApp;
    let dataDir: string;
    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'concordia-audit-import-'));
      t = await createTestApp(database, { CONCORDIA_DATA_DIR: dataDir });
    });
    afterAll(async () => {
      await t?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('records the kick-off, each imported version in its own write, and each batch as a transaction (the job writes through the core)', async () => {
      const imported = ['import-a', 'import-b'].map((id) => ({ ...patient(), id }));
      const kickoff = await t.app.inject({
        method: 'POST',
        url: '/fhir/$import',
        headers: { 'content-type': 'application/fhir+ndjson' },
        payload: `${imported.map((resource) => JSON.stringify(resource)).join('\n')}\n`,
      });
      expect(kickoff.statusCode).toBe(202);
      const status = String(kickoff.headers['content-location']).replace('http://fhir.test', '');
      await vi.waitFor(
        async () => expect((await t.app.inject({ method: 'GET', url: status })).statusCode).toBe(200),
        { timeout: 20_000, interval: 50 },
      );
      const events = await storedAuditEvents(t);
      expect(
        events.filter((event) => event.subtype.includes('import')).map((event) => event.outcome),
      ).toEqual(['0']);
      const written = events.filter((event) =>
        event.entity.some((entity) => entity.startsWith('Patient/import-')),
      );
      expect(
        written
          .filter((event) => event.action === 'C')
          .map((event) => [event.action, event.entity[0]])
          .sort(),
      ).toEqual([
        ['C', 'Patient/import-a/_history/1'],
        ['C', 'Patient/import-b/_history/1'],
      ]);
      // The job loads consecutive lines as one transaction (import/import-batches.ts): one event for it.
      const batches = written.filter((event) => event.subtype.includes('transaction'));
      expect(batches.map((event) => [...event.entity].sort())).toEqual([
        [
          'Patient/import-a',
          'Patient/import-a/_history/1',
          'Patient/import-b',
          'Patient/import-b/_history/1',
        ],
      ]);
    });
  });

  describe(`REST audit of unauthenticated requests on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database, { CONCORDIA_AUTH: 'required' });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('records a request without a token (401) as a failure of the anonymous caller', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/fhir/Patient/nobody' });
      expect(response.statusCode).toBe(401);
      const events = await eventsOf(t, 'read');
      expect(events.map((event) => [event.outcome, event.agent, event.patient])).toEqual([
        ['4', ['anonymous'], ['Patient/nobody']],
      ]);
    });
  });
}

function agents(event: StoredAuditEvent | undefined): Record<string, unknown>[] {
  const list = event?.event.agent;
  return Array.isArray(list)
    ? list.filter((agent): agent is Record<string, unknown> => typeof agent === 'object')
    : [];
}

function entityRoles(event: StoredAuditEvent | undefined): { what: unknown; role: unknown }[] {
  const list = event?.event.entity;
  if (!Array.isArray(list)) return [];
  return list.map((entity: unknown) => ({
    what: at(entity, 'what', 'reference'),
    role: at(entity, 'role', 'code'),
  }));
}
