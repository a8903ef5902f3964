/**
 * AuditEvent read and search from the audit table (auditevent.html#search), who may use them, the
 * CapabilityStatement's entry, REST writes refused with 405, and the patient's access report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext, UserPrincipal } from '../../src/access/request-context.ts';
import { parseScopes } from '../../src/access/smart-scopes.ts';
import type { FhirResponse } from '../../src/fhir/interaction.ts';
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

function user(roles: UserPrincipal['roles'], fhirUser?: string, organization?: string): RequestContext {
  return {
    principal: {
      kind: 'user',
      id: `user-${roles.join('-')}`,
      roles,
      clientId: 'portal',
      scopes: parseScopes('user/*.rs patient/*.rs'),
      expiresAt: Math.floor(Date.now() / 1000) + 300,
      ...(fhirUser !== undefined ? { fhirUser } : {}),
      ...(organization !== undefined ? { organization } : {}),
    },
    clientId: 'portal',
    requestId: `request-${Math.random()}`,
  };
}

function bodyOf(response: FhirResponse): Record<string, unknown> {
  if (response.body?.kind === 'json') return json(response.body.json);
  if (response.body?.kind === 'resource') return response.body.resource;
  throw new Error(`no body (status ${response.status})`);
}

function entryIds(bundle: Record<string, unknown>): string[] {
  return list(bundle.entry).map((entry) => String(at(entry, 'resource', 'id')));
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

for (const database of testDatabases()) {
  describe(`AuditEvent read and search on ${database.name}`, () => {
    let t: TestApp;
    let patientId: string;
    let otherId: string;
    beforeAll(async () => {
      t = await createTestApp(database);
      const create = async (resource: Record<string, unknown>) => {
        const response = await t.app.inject({
          method: 'POST',
          url: `/fhir/${String(resource.resourceType)}`,
          headers: FHIR_JSON,
          payload: resource,
        });
        return String(json(response.body).id);
      };
      patientId = await create({
        ...patient({ family: 'Audited' }),
        managingOrganization: { reference: 'Organization/clinic-1' },
      });
      otherId = await create(patient({ family: 'Other' }));
      await create(observation(`Patient/${patientId}`));
      // The clinic's system reads the record of one of its patients; an emergency doctor breaks the glass.
      const clinic: RequestContext = {
        principal: {
          kind: 'client',
          id: 'clinic-emr',
          clientId: 'clinic-emr',
          roles: ['system'],
          organization: 'Organization/clinic-1',
          scopes: parseScopes('system/*.rs'),
          expiresAt: Math.floor(Date.now() / 1000) + 300,
        },
        clientId: 'clinic-emr',
        requestId: 'clinic-read',
      };
      const read = await t.core.handle(clinic, {
        method: 'GET',
        path: `Patient/${patientId}`,
        query: [],
        headers: {},
      });
      expect(read.status).toBe(200);
      const emergency: RequestContext = {
        ...user(['emergency'], 'Practitioner/er-1'),
        purposeOfUse: 'ETREAT',
        breakTheGlass: { reason: 'unconscious on arrival' },
      };
      await t.core.handle(emergency, {
        method: 'GET',
        path: `Observation`,
        query: [['subject', `Patient/${patientId}`]],
        headers: {},
      });
    });
    afterAll(async () => {
      await t?.close();
    });

    async function search(query: string): Promise<Record<string, unknown>> {
      const response = await t.app.inject({ method: 'GET', url: `/fhir/AuditEvent?${query}` });
      expect(response.statusCode).toBe(200);
      return json(response.body);
    }

    it('finds the events about a patient (patient=), newest first', async () => {
      const bundle = await search(`patient=Patient/${patientId}`);
      const events = Array.isArray(bundle.entry)
        ? bundle.entry.map((entry: unknown) => at(entry, 'resource'))
        : [];
      expect(events.length).toBeGreaterThanOrEqual(4);
      const recorded = events.map((event) => String(at(event, 'recorded')));
      expect([...recorded].sort().reverse()).toEqual(recorded);
      const other = await search(`patient=${otherId}`);
      expect(entryIds(other)).not.toEqual(expect.arrayContaining(entryIds(bundle).slice(0, 1)));
    });

    it('combines agent, subtype, action, outcome and date', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const bundle = await search(
        `agent=client:clinic-emr&subtype=http://hl7.org/fhir/restful-interaction|read&action=R&outcome=0&date=${today}&patient=${patientId}`,
      );
      const ids = entryIds(bundle);
      expect(ids).toHaveLength(1);
      const none = await search(`agent=client:clinic-emr&date=lt2000-01-01`);
      expect(entryIds(none)).toEqual([]);
    });

    it('reads one AuditEvent by id and finds it by _id and entity', async () => {
      const [id] = entryIds(await search(`agent=clinic-emr`));
      const read = await t.app.inject({ method: 'GET', url: `/fhir/AuditEvent/${String(id)}` });
      expect(read.statusCode).toBe(200);
      expect(at(json(read.body), 'resourceType')).toBe('AuditEvent');
      expect(entryIds(await search(`_id=${String(id)}`))).toEqual([id]);
      expect(entryIds(await search(`entity=Patient/${patientId}&agent=clinic-emr`))).toEqual([id]);
    });

    it('pages with a next link that continues where the page ended', async () => {
      // Reads of one patient: searching the audit adds search events, never reads.
      for (let read = 0; read < 3; read += 1)
        await t.app.inject({ method: 'GET', url: `/fhir/Patient/${otherId}` });
      const all = entryIds(await search(`patient=${otherId}&action=R&_count=10`));
      expect(all).toHaveLength(3);
      const first = await search(`patient=${otherId}&action=R&_count=2`);
      const next = list(first.link).find((link) => at(link, 'relation') === 'next');
      const url = new URL(String(at(next, 'url')));
      const second = json((await t.app.inject({ method: 'GET', url: `${url.pathname}${url.search}` })).body);
      expect([...entryIds(first), ...entryIds(second)]).toEqual(all);
      expect(list(second.link).some((link) => at(link, 'relation') === 'next')).toBe(false);
    });

    it('counts every match with _total=accurate, across pages and both audit tables (search.html#total)', async () => {
      // Reads (the access log) and the patient's create (a write's event) of one patient; not the
      // searches (action E), which these searches of the audit add as they go.
      const all = entryIds(await search(`patient=${otherId}&action=R,C&_count=1000`));
      expect(all.length).toBeGreaterThan(2);
      const counted = await search(`patient=${otherId}&action=R,C&_count=1&_total=accurate`);
      expect(counted.total).toBe(all.length);
      expect(entryIds(counted)).toHaveLength(1);
      expect((await search(`patient=${otherId}&action=R,C&_count=1&_total=none`)).total).toBeUndefined();
      const wrong = await t.app.inject({ method: 'GET', url: '/fhir/AuditEvent?_total=some' });
      expect(wrong.statusCode).toBe(400);
    });

    it('refuses an unknown search parameter with 400', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/fhir/AuditEvent?patinet=1' });
      expect(response.statusCode).toBe(400);
    });

    it('refuses writes to AuditEvent over REST with 405', async () => {
      const create = await t.app.inject({
        method: 'POST',
        url: '/fhir/AuditEvent',
        headers: FHIR_JSON,
        payload: { resourceType: 'AuditEvent' },
      });
      expect(create.statusCode).toBe(405);
      const [id] = entryIds(await search(`patient=${patientId}`));
      for (const method of ['PUT', 'DELETE'] as const) {
        const response = await t.app.inject({
          method,
          url: `/fhir/AuditEvent/${String(id)}`,
          headers: FHIR_JSON,
          ...(method === 'PUT' ? { payload: { resourceType: 'AuditEvent', id } } : {}),
        });
        expect(response.statusCode).toBe(405);
      }
    });

    it('lists AuditEvent in the CapabilityStatement as read and search only, with its parameters', async () => {
      const statement = json((await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).body);
      const resources = at(statement, 'rest', 0, 'resource');
      const auditEvent = list(resources).find((entry: unknown) => at(entry, 'type') === 'AuditEvent');
      expect(at(auditEvent, 'interaction')).toEqual([{ code: 'read' }, { code: 'search-type' }]);
      const names = list(at(auditEvent, 'searchParam')).map((parameter) => at(parameter, 'name'));
      expect(names).toEqual(
        expect.arrayContaining([
          'patient',
          'date',
          'agent',
          'entity',
          'type',
          'subtype',
          'action',
          'outcome',
        ]),
      );
      const patientEntry = list(resources).find((entry: unknown) => at(entry, 'type') === 'Patient');
      expect(JSON.stringify(at(patientEntry, 'operation'))).toContain('access-report');
    });

    it('lets administrators and system clients with AuditEvent scope search, and refuses clinicians (403)', async () => {
      const query = {
        method: 'GET' as const,
        path: 'AuditEvent',
        query: [['patient', patientId]] as [string, string][],
        headers: {},
      };
      expect((await t.core.handle(user(['administrator']), query)).status).toBe(200);
      expect((await t.core.handle(user(['family-doctor'], 'Practitioner/dr-1'), query)).status).toBe(403);
      const client = (scope: string): RequestContext => ({
        principal: {
          kind: 'client',
          id: 'siem',
          clientId: 'siem',
          roles: ['system'],
          scopes: parseScopes(scope),
          expiresAt: Math.floor(Date.now() / 1000) + 300,
        },
        requestId: `siem-${scope}`,
      });
      expect((await t.core.handle(client('system/AuditEvent.rs'), query)).status).toBe(200);
      expect((await t.core.handle(client('system/Observation.rs'), query)).status).toBe(403);
    });

    it('shows the patient who accessed their record: who, organization, when, purpose, break-the-glass', async () => {
      const me = user(['patient'], `Patient/${patientId}`);
      const response = await t.core.handle(me, {
        method: 'GET',
        path: `Patient/${patientId}/$access-report`,
        query: [],
        headers: {},
      });
      expect(response.status).toBe(200);
      const accesses = list(bodyOf(response).parameter)
        .filter((parameter) => at(parameter, 'name') === 'access')
        .map((parameter) =>
          Object.fromEntries(list(at(parameter, 'part')).map((part) => [String(at(part, 'name')), part])),
        );
      const clinic = accesses.find(
        (access) => at(access.who, 'valueReference', 'identifier', 'value') === 'clinic-emr',
      );
      expect(at(clinic?.organization, 'valueReference', 'reference')).toBe('Organization/clinic-1');
      expect(at(clinic?.role, 'valueCoding', 'code')).toBe('system');
      expect(at(clinic?.what, 'valueString')).toBe('read');
      expect(at(clinic?.breakTheGlass, 'valueBoolean')).toBe(false);
      expect(typeof at(clinic?.when, 'valueInstant')).toBe('string');
      const emergency = accesses.find(
        (access) => at(access.who, 'valueReference', 'reference') === 'Practitioner/er-1',
      );
      expect(at(emergency?.breakTheGlass, 'valueBoolean')).toBe(true);
      expect(at(emergency?.purpose, 'valueCoding', 'code')).toBe('ETREAT');
      expect(at(emergency?.breakTheGlassReason, 'valueString')).toBe('unconscious on arrival');
    });

    it('refuses the access report to another patient and to clinicians (403), and allows administrators', async () => {
      const request = {
        method: 'GET' as const,
        path: `Patient/${patientId}/$access-report`,
        query: [],
        headers: {},
      };
      expect((await t.core.handle(user(['patient'], `Patient/${otherId}`), request)).status).toBe(403);
      expect((await t.core.handle(user(['family-doctor'], 'Practitioner/dr-1'), request)).status).toBe(403);
      expect((await t.core.handle(user(['administrator']), request)).status).toBe(200);
    });
  });
}
