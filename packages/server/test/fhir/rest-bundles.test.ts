/**
 * transaction and batch Bundles at the FHIR base (http://hl7.org/fhir/R4/http.html#transaction):
 * urn:uuid references resolved across entries, all-or-nothing, per-entry batch outcomes.
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

const PATIENT_URN = 'urn:uuid:7f0c3a9e-3b7a-4c43-9a1c-2d8f0e3f1a11';

function transaction(entries: unknown[], type = 'transaction') {
  return { resourceType: 'Bundle', type, entry: entries };
}

for (const database of testDatabases()) {
  describe(`Bundles on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('creates every entry and rewrites urn:uuid references to the assigned ids', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: transaction([
          {
            fullUrl: 'urn:uuid:0b9e5f0e-0000-4000-8000-000000000001',
            resource: observation(PATIENT_URN),
            request: { method: 'POST', url: 'Observation' },
          },
          {
            fullUrl: PATIENT_URN,
            resource: patient({ family: 'Bondarenko' }),
            request: { method: 'POST', url: 'Patient' },
          },
        ]),
      });
      expect(response.statusCode).toBe(200);
      const bundle = json(response.body);
      expect(bundle.type).toBe('transaction-response');
      expect(at(bundle, 'entry', 0, 'response', 'status')).toBe('201 Created');
      const patientLocation = String(at(bundle, 'entry', 1, 'response', 'location'));
      const patientId = /Patient\/([^/]+)\//.exec(patientLocation)?.[1];
      const observationPath = String(at(bundle, 'entry', 0, 'response', 'location')).replace(
        'http://fhir.test',
        '',
      );
      const stored = json((await t.app.inject({ method: 'GET', url: observationPath })).body);
      expect(at(stored, 'subject', 'reference')).toBe(`Patient/${patientId}`);
    });

    it("writes nothing when one entry fails, and answers with that entry's error", async () => {
      const before = json((await t.app.inject({ method: 'GET', url: '/fhir/_history?_count=1' })).body);
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: transaction([
          {
            fullUrl: PATIENT_URN,
            resource: patient({ family: 'Rollback' }),
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: { ...observation(PATIENT_URN), effectiveDateTime: 'yesterday' },
            request: { method: 'POST', url: 'Observation' },
          },
        ]),
      });
      expect(response.statusCode).toBe(422);
      const outcome = json(response.body);
      expect(String(at(outcome, 'issue', 0, 'diagnostics'))).toContain('Bundle.entry[1]');
      const after = json((await t.app.inject({ method: 'GET', url: '/fhir/_history?_count=1' })).body);
      expect(at(after, 'entry', 0, 'fullUrl')).toBe(at(before, 'entry', 0, 'fullUrl'));
    });

    it('rejects a reference to a urn:uuid that no entry defines', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: transaction([
          {
            resource: observation('urn:uuid:00000000-dead-4000-8000-000000000000'),
            request: { method: 'POST', url: 'Observation' },
          },
        ]),
      });
      expect(response.statusCode).toBe(400);
    });

    it('resolves conditional creates and conditional references inside a transaction', async () => {
      const identifier = 'TX-COND-1';
      const system = 'https://concordia.example/national-id';
      const first = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: transaction([
          {
            fullUrl: PATIENT_URN,
            resource: patient({ identifier }),
            request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${system}|${identifier}` },
          },
        ]),
      });
      expect(at(json(first.body), 'entry', 0, 'response', 'status')).toBe('201 Created');
      const second = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: transaction([
          {
            fullUrl: PATIENT_URN,
            resource: patient({ identifier }),
            request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${system}|${identifier}` },
          },
          {
            resource: observation(`Patient?identifier=${system}|${identifier}`),
            request: { method: 'POST', url: 'Observation' },
          },
        ]),
      });
      const bundle = json(second.body);
      expect(at(bundle, 'entry', 0, 'response', 'status')).toBe('200 OK');
      expect(at(bundle, 'entry', 0, 'response', 'location')).toBe(
        at(json(first.body), 'entry', 0, 'response', 'location'),
      );
      const observationPath = String(at(bundle, 'entry', 1, 'response', 'location')).replace(
        'http://fhir.test',
        '',
      );
      const stored = json((await t.app.inject({ method: 'GET', url: observationPath })).body);
      expect(String(at(stored, 'subject', 'reference'))).toMatch(/^Patient\/[0-9a-f-]+$/);
    });

    it('runs batch entries independently and reports each outcome', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: transaction(
          [
            { resource: patient(), request: { method: 'POST', url: 'Patient' } },
            { request: { method: 'GET', url: 'Patient/does-not-exist' } },
          ],
          'batch',
        ),
      });
      expect(response.statusCode).toBe(200);
      const bundle = json(response.body);
      expect(bundle.type).toBe('batch-response');
      expect(at(bundle, 'entry', 0, 'response', 'status')).toBe('201 Created');
      expect(at(bundle, 'entry', 1, 'response', 'status')).toBe('404 Not Found');
      expect(at(bundle, 'entry', 1, 'response', 'outcome', 'resourceType')).toBe('OperationOutcome');
    });

    it('answers 400 for a Bundle that is neither transaction nor batch', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: { resourceType: 'Bundle', type: 'collection' },
      });
      expect(response.statusCode).toBe(400);
    });
  });
}
