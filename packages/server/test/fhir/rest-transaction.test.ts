/**
 * Transactions as http://hl7.org/fhir/R4/http.html#transaction describes them, beyond the basics of
 * rest-bundles.test.ts: nothing of a failed transaction is left anywhere (resource rows, history,
 * search index), entries run in the #trules order, conditional entries and references resolve
 * across the Bundle, `entry.response` carries what the spec lists, limits answer 413, and
 * concurrent transactions on the same resources neither lose an update nor create twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const SYSTEM = 'https://concordia.example/national-id';

function bundle(entry: unknown[], type = 'transaction') {
  return { resourceType: 'Bundle', type, entry };
}

function entries(body: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(body.entry) ? body.entry : [];
}

for (const database of testDatabases()) {
  describe(`transactions on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    async function post(body: object, headers: Record<string, string> = {}) {
      return t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: { ...FHIR_JSON, ...headers },
        payload: body,
      });
    }
    async function get(url: string) {
      const response = await t.app.inject({ method: 'GET', url });
      return { status: response.statusCode, body: json(response.body) };
    }
    async function put(id: string, resource: Record<string, unknown>) {
      const response = await t.app.inject({
        method: 'PUT',
        url: `/fhir/Patient/${id}`,
        headers: FHIR_JSON,
        payload: { ...resource, id },
      });
      expect(response.statusCode).toBeLessThan(300);
    }
    async function matches(url: string): Promise<string[]> {
      const { body } = await get(url);
      return entries(body).map((entry) => String(at(entry, 'resource', 'id')));
    }
    async function versionsOf(type: string, id: string): Promise<string[]> {
      const { body } = await get(`/fhir/${type}/${id}/_history?_count=1000`);
      return entries(body)
        .map((entry) => String(at(entry, 'response', 'etag')))
        .reverse();
    }

    it('leaves no resource, history or index row behind when an entry fails (http.html#transaction)', async () => {
      await put('tx-rollback-kept', patient({ family: 'Kept', identifier: 'RB-KEPT' }));
      await put('tx-rollback-doomed', patient({ family: 'Doomed' }));
      const response = await post(
        bundle([
          {
            fullUrl: 'urn:uuid:5d7e8c1a-1111-4aaa-8bbb-000000000001',
            resource: patient({ family: 'Phantom', identifier: 'RB-NEW' }),
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: { ...patient({ family: 'Overwritten' }), id: 'tx-rollback-kept' },
            request: { method: 'PUT', url: 'Patient/tx-rollback-kept' },
          },
          { request: { method: 'DELETE', url: 'Patient/tx-rollback-doomed' } },
          {
            resource: {
              ...observation('urn:uuid:5d7e8c1a-1111-4aaa-8bbb-000000000001'),
              effectiveDateTime: 'yesterday',
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ]),
      );
      expect(response.statusCode).toBe(422);
      expect(String(at(json(response.body), 'issue', 0, 'diagnostics'))).toContain('Bundle.entry[3]');
      // Resource rows and history: the update and the delete never happened.
      expect(await versionsOf('Patient', 'tx-rollback-kept')).toEqual(['W/"1"']);
      expect(await versionsOf('Patient', 'tx-rollback-doomed')).toEqual(['W/"1"']);
      expect((await get('/fhir/Patient/tx-rollback-doomed')).status).toBe(200);
      // Search index: neither the created Patient nor the overwritten name is findable; the old one is.
      expect(await matches(`/fhir/Patient?identifier=${SYSTEM}|RB-NEW`)).toEqual([]);
      expect(await matches('/fhir/Patient?family:exact=Phantom')).toEqual([]);
      expect(await matches('/fhir/Patient?family:exact=Overwritten')).toEqual([]);
      expect(await matches('/fhir/Patient?family:exact=Kept')).toEqual(['tx-rollback-kept']);
    });

    it('processes DELETE, then POST, then PUT/PATCH, then GET, and answers in request order (http.html#trules)', async () => {
      await put('tx-order', patient({ family: 'Before' }));
      await put('tx-order-old', patient({ family: 'Old', identifier: 'ORDER-1' }));
      const response = await post(
        bundle([
          { request: { method: 'GET', url: 'Patient/tx-order' } },
          {
            resource: { ...patient({ family: 'After' }), id: 'tx-order' },
            request: { method: 'PUT', url: 'Patient/tx-order' },
          },
          {
            resource: patient({ family: 'New', identifier: 'ORDER-1' }),
            request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${SYSTEM}|ORDER-1` },
          },
          { request: { method: 'DELETE', url: `Patient?identifier=${SYSTEM}|ORDER-1` } },
        ]),
      );
      expect(response.statusCode).toBe(200);
      const answer = json(response.body);
      expect(answer.type).toBe('transaction-response');
      const [read, updated, created, deleted] = entries(answer);
      // GET ran last: it reads the PUT's version, and its resource is its answer.
      expect(at(read, 'response', 'status')).toBe('200 OK');
      expect(at(read, 'resource', 'name', 0, 'family')).toBe('After');
      expect(at(read, 'resource', 'meta', 'versionId')).toBe('2');
      expect(at(updated, 'response', 'status')).toBe('200 OK');
      expect(at(updated, 'response', 'etag')).toBe('W/"2"');
      // DELETE ran before the conditional create, which therefore found nothing and created.
      expect(at(deleted, 'response', 'status')).toBe('204 No Content');
      expect(at(created, 'response', 'status')).toBe('201 Created');
      expect(String(at(created, 'response', 'location'))).toMatch(
        /^http:\/\/fhir\.test\/fhir\/Patient\/[0-9a-f-]{36}\/_history\/1$/,
      );
      expect(at(created, 'response', 'etag')).toBe('W/"1"');
      expect(String(at(created, 'response', 'lastModified'))).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
      expect((await get('/fhir/Patient/tx-order-old')).status).toBe(410);
      expect(await matches(`/fhir/Patient?identifier=${SYSTEM}|ORDER-1`)).toHaveLength(1);
    });

    it('resolves urn:uuid and conditional references to a conditional update and a conditional create (http.html#trules)', async () => {
      await put('tx-cond-existing', patient({ family: 'Existing', identifier: 'COND-REF-1' }));
      const patientUrn = 'urn:uuid:5d7e8c1a-2222-4aaa-8bbb-000000000001';
      const orgUrn = 'urn:uuid:5d7e8c1a-2222-4aaa-8bbb-000000000002';
      const response = await post(
        bundle([
          {
            fullUrl: patientUrn,
            resource: {
              ...patient({ family: 'Renamed', identifier: 'COND-REF-1' }),
              managingOrganization: { reference: orgUrn },
            },
            request: { method: 'PUT', url: `Patient?identifier=${SYSTEM}|COND-REF-1` },
          },
          {
            fullUrl: orgUrn,
            resource: {
              resourceType: 'Organization',
              identifier: [{ system: SYSTEM, value: 'ORG-1' }],
              name: 'Clinic',
            },
            request: { method: 'POST', url: 'Organization', ifNoneExist: `identifier=${SYSTEM}|ORG-1` },
          },
          { resource: observation(patientUrn), request: { method: 'POST', url: 'Observation' } },
          {
            resource: observation(`Patient?identifier=${SYSTEM}|COND-REF-1`, '29463-7'),
            request: { method: 'POST', url: 'Observation' },
          },
        ]),
      );
      expect(response.statusCode).toBe(200);
      const [updated, organization, first, second] = entries(json(response.body));
      expect(at(updated, 'response', 'status')).toBe('200 OK');
      expect(String(at(updated, 'response', 'location'))).toContain('/Patient/tx-cond-existing/_history/2');
      const orgId = /Organization\/([^/]+)\//.exec(String(at(organization, 'response', 'location')))?.[1];
      const stored = await get('/fhir/Patient/tx-cond-existing');
      expect(at(stored.body, 'managingOrganization', 'reference')).toBe(`Organization/${orgId}`);
      for (const entry of [first, second]) {
        const path = String(at(entry, 'response', 'location')).replace('http://fhir.test', '');
        expect(at((await get(path)).body, 'subject', 'reference')).toBe('Patient/tx-cond-existing');
      }
      // Conditional references are resolved through the search index like any search.
      expect(await matches('/fhir/Observation?subject=Patient/tx-cond-existing')).toHaveLength(2);
    });

    it('answers 412 for a stale If-Match inside a transaction and writes no entry (http.html#concurrency)', async () => {
      await put('tx-if-match', patient({ family: 'One' }));
      await put('tx-if-match', patient({ family: 'Two' }));
      const response = await post(
        bundle([
          {
            resource: patient({ family: 'Sibling', identifier: 'IF-MATCH-SIBLING' }),
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: { ...patient({ family: 'Three' }), id: 'tx-if-match' },
            request: { method: 'PUT', url: 'Patient/tx-if-match', ifMatch: 'W/"1"' },
          },
        ]),
      );
      expect(response.statusCode).toBe(412);
      expect(await versionsOf('Patient', 'tx-if-match')).toEqual(['W/"1"', 'W/"2"']);
      expect(await matches(`/fhir/Patient?identifier=${SYSTEM}|IF-MATCH-SIBLING`)).toEqual([]);
    });

    it('runs batch entries independently: a stale If-Match fails alone (http.html#transaction)', async () => {
      await put('batch-if-match', patient({ family: 'One' }));
      const response = await post(
        bundle(
          [
            {
              resource: { ...patient({ family: 'Stale' }), id: 'batch-if-match' },
              request: { method: 'PUT', url: 'Patient/batch-if-match', ifMatch: 'W/"7"' },
            },
            {
              resource: { ...patient({ family: 'Fresh' }), id: 'batch-if-match' },
              request: { method: 'PUT', url: 'Patient/batch-if-match', ifMatch: 'W/"1"' },
            },
            { request: { method: 'GET', url: 'Patient/batch-if-match' } },
          ],
          'batch',
        ),
      );
      expect(response.statusCode).toBe(200);
      const [stale, fresh, read] = entries(json(response.body));
      expect(at(stale, 'response', 'status')).toBe('412 Precondition Failed');
      expect(at(stale, 'response', 'outcome', 'issue', 0, 'code')).toBe('conflict');
      expect(at(fresh, 'response', 'status')).toBe('200 OK');
      expect(at(read, 'resource', 'name', 0, 'family')).toBe('Fresh');
    });

    it('accepts a full Synthea-sized Bundle by default and answers 413 beyond the configured limits', async () => {
      expect(t.config.maxBundleEntries).toBeGreaterThanOrEqual(3419);
      expect(t.config.maxBodyBytes).toBeGreaterThanOrEqual(12 * 1024 * 1024);
      const small = await createTestApp(database, {
        CONCORDIA_MAX_BUNDLE_ENTRIES: '3',
        CONCORDIA_MAX_BODY_BYTES: '4096',
      });
      try {
        const four = bundle(
          Array.from({ length: 4 }, () => ({
            resource: patient(),
            request: { method: 'POST', url: 'Patient' },
          })),
        );
        const tooMany = await small.app.inject({
          method: 'POST',
          url: '/fhir',
          headers: FHIR_JSON,
          payload: four,
        });
        expect(tooMany.statusCode).toBe(413);
        expect(at(json(tooMany.body), 'issue', 0, 'code')).toBe('too-costly');
        const large = bundle([
          {
            resource: { ...patient(), text: { status: 'generated', div: `<div>${'x'.repeat(5000)}</div>` } },
            request: { method: 'POST', url: 'Patient' },
          },
        ]);
        const tooLarge = await small.app.inject({
          method: 'POST',
          url: '/fhir',
          headers: FHIR_JSON,
          payload: large,
        });
        expect(tooLarge.statusCode).toBe(413);
        expect(at(json(tooLarge.body), 'resourceType')).toBe('OperationOutcome');
        const history = json((await small.app.inject({ method: 'GET', url: '/fhir/Patient/_history' })).body);
        expect(entries(history)).toEqual([]);
      } finally {
        await small.close();
      }
    });

    it('keeps concurrent transactions on the same resources consistent: contiguous versions, no lost update, one conditional create (http.html#transaction)', async () => {
      const ids = ['tx-concurrent-a', 'tx-concurrent-b', 'tx-concurrent-c'];
      for (const id of ids) await put(id, patient({ family: id }));
      const writers = 12;
      const appendIdentifier = (value: string) => ({
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'operation',
            part: [
              { name: 'type', valueCode: 'add' },
              { name: 'path', valueString: 'Patient' },
              { name: 'name', valueString: 'identifier' },
              { name: 'value', valueIdentifier: { system: SYSTEM, value } },
            ],
          },
        ],
      });
      const transactions = Array.from({ length: writers }, (_, writer) => {
        // Every writer touches the three Patients, in an order of its own.
        const order = writer % 2 === 0 ? ids : [...ids].reverse();
        return bundle([
          ...order.map((id) => ({
            resource: appendIdentifier(`W${writer}`),
            request: { method: 'PATCH', url: `Patient/${id}` },
          })),
          // Two of them also create the same Organization conditionally.
          ...(writer < 2
            ? [
                {
                  fullUrl: `urn:uuid:5d7e8c1a-3333-4aaa-8bbb-${String(writer).padStart(12, '0')}`,
                  resource: {
                    resourceType: 'Organization',
                    identifier: [{ system: SYSTEM, value: 'CONCURRENT-ORG' }],
                  },
                  request: {
                    method: 'POST',
                    url: 'Organization',
                    ifNoneExist: `identifier=${SYSTEM}|CONCURRENT-ORG`,
                  },
                },
              ]
            : []),
        ]);
      });
      const responses = await Promise.all(transactions.map((body) => post(body)));
      expect(responses.map((response) => response.statusCode)).toEqual(responses.map(() => 200));
      for (const id of ids) {
        // Versions 1 … writers+1, each exactly once: every transaction wrote one version.
        expect(await versionsOf('Patient', id)).toEqual(
          Array.from({ length: writers + 1 }, (_, index) => `W/"${index + 1}"`),
        );
        const current = (await get(`/fhir/Patient/${id}`)).body;
        const values = (Array.isArray(current.identifier) ? current.identifier : []).map((identifier) =>
          String(at(identifier, 'value')),
        );
        // No lost update: each writer's patch is in the final version.
        expect(values.sort()).toEqual(Array.from({ length: writers }, (_, writer) => `W${writer}`).sort());
      }
      const organizations = await matches(`/fhir/Organization?identifier=${SYSTEM}|CONCURRENT-ORG`);
      expect(organizations).toHaveLength(1);
      const conditional = responses
        .slice(0, 2)
        .map((response) => at(json(response.body), 'entry', ids.length, 'response', 'status'));
      expect(conditional.sort()).toEqual(['200 OK', '201 Created']);
    });
  });
}
