/**
 * Conditional create/update/delete (http://hl7.org/fhir/R4/http.html#ccreate, #cond-update,
 * #cdelete), including the race the spec leaves to servers: identical conditional creates sent
 * at the same time must create exactly one resource.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, patient, type TestApp } from '../support/test-app.ts';

const SYSTEM = 'https://concordia.example/national-id';

for (const database of testDatabases()) {
  describe(`conditional interactions on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    const conditionalCreate = (identifier: string, body = patient({ identifier })) =>
      t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: { ...FHIR_JSON, 'if-none-exist': `identifier=${SYSTEM}|${identifier}` },
        payload: body,
      });

    it('creates when nothing matches, and returns the match with 200 when one does (http.html#ccreate)', async () => {
      const first = await conditionalCreate('CC-1');
      expect(first.statusCode).toBe(201);
      const second = await conditionalCreate('CC-1');
      expect(second.statusCode).toBe(200);
      expect(json(second.body).id).toBe(json(first.body).id);
      expect(second.headers.etag).toBe('W/"1"');
    });

    it('answers 412 when the criteria match several resources', async () => {
      await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: patient({ identifier: 'DUP' }),
      });
      await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: patient({ identifier: 'DUP' }),
      });
      const response = await conditionalCreate('DUP');
      expect(response.statusCode).toBe(412);
      expect(at(json(response.body), 'issue', 0, 'code')).toBe('multiple-matches');
    });

    it('answers 400 naming an unsupported criterion', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: { ...FHIR_JSON, 'if-none-exist': 'shoe-size=42' },
        payload: patient(),
      });
      expect(response.statusCode).toBe(400);
      expect(String(at(json(response.body), 'issue', 0, 'diagnostics'))).toContain('shoe-size');
    });

    it('matches string criteria case- and accent-insensitively by prefix (search.html#string)', async () => {
      await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: patient({ family: 'Gonçalves', identifier: 'STR-1' }),
      });
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: { ...FHIR_JSON, 'if-none-exist': 'family=goncal&identifier=STR-1' },
        payload: patient(),
      });
      expect(response.statusCode).toBe(200);
    });

    it('creates exactly one resource from 20 identical concurrent conditional creates', async () => {
      const responses = await Promise.all(Array.from({ length: 20 }, () => conditionalCreate('RACE-1')));
      const statuses = responses.map((r) => r.statusCode).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(19);
      expect(new Set(responses.map((r) => json(r.body).id)).size).toBe(1);
    });

    it('updates the one match of a conditional update, creates when none matches, 412 on several', async () => {
      const created = json((await conditionalCreate('CU-1')).body);
      const updated = await t.app.inject({
        method: 'PUT',
        url: `/fhir/Patient?identifier=${encodeURIComponent(`${SYSTEM}|CU-1`)}`,
        headers: FHIR_JSON,
        payload: { ...patient({ identifier: 'CU-1' }), gender: 'male' },
      });
      expect(updated.statusCode).toBe(200);
      expect(json(updated.body).id).toBe(created.id);
      expect(updated.headers.etag).toBe('W/"2"');

      const fresh = await t.app.inject({
        method: 'PUT',
        url: `/fhir/Patient?identifier=${encodeURIComponent(`${SYSTEM}|CU-NEW`)}`,
        headers: FHIR_JSON,
        payload: patient({ identifier: 'CU-NEW' }),
      });
      expect(fresh.statusCode).toBe(201);

      const ambiguous = await t.app.inject({
        method: 'PUT',
        url: '/fhir/Patient?identifier=DUP',
        headers: FHIR_JSON,
        payload: patient({ identifier: 'DUP' }),
      });
      expect(ambiguous.statusCode).toBe(412);
    });

    it('rejects a conditional update whose body id differs from the match', async () => {
      await conditionalCreate('CU-2');
      const response = await t.app.inject({
        method: 'PUT',
        url: `/fhir/Patient?identifier=${encodeURIComponent(`${SYSTEM}|CU-2`)}`,
        headers: FHIR_JSON,
        payload: patient({ identifier: 'CU-2', id: 'not-the-match' }),
      });
      expect(response.statusCode).toBe(400);
    });

    it('deletes the single match of a conditional delete and 412s on several (http.html#cdelete)', async () => {
      const created = json((await conditionalCreate('CD-1')).body);
      const deleted = await t.app.inject({
        method: 'DELETE',
        url: `/fhir/Patient?identifier=${encodeURIComponent(`${SYSTEM}|CD-1`)}`,
      });
      expect(deleted.statusCode).toBe(204);
      const read = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${String(created.id)}` });
      expect(read.statusCode).toBe(410);
      const ambiguous = await t.app.inject({ method: 'DELETE', url: '/fhir/Patient?identifier=DUP' });
      expect(ambiguous.statusCode).toBe(412);
      const none = await t.app.inject({ method: 'DELETE', url: '/fhir/Patient?identifier=NOBODY' });
      expect(none.statusCode).toBe(204);
    });

    it('refuses a conditional delete without criteria instead of deleting everything', async () => {
      const response = await t.app.inject({ method: 'DELETE', url: '/fhir/Patient' });
      expect(response.statusCode).toBe(400);
    });

    it('patches the match of a conditional patch', async () => {
      await conditionalCreate('CP-1');
      const response = await t.app.inject({
        method: 'PATCH',
        url: `/fhir/Patient?identifier=${encodeURIComponent(`${SYSTEM}|CP-1`)}`,
        headers: { 'content-type': 'application/json-patch+json' },
        payload: [{ op: 'add', path: '/active', value: true }],
      });
      expect(response.statusCode).toBe(200);
      expect(json(response.body).active).toBe(true);
    });
  });
}
