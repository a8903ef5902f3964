/**
 * The REST interactions of http://hl7.org/fhir/R4/http.html over real HTTP injection, on every
 * configured database (PGlite always, PostgreSQL when DATABASE_URL is set).
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

for (const database of testDatabases()) {
  describe(`FHIR REST CRUD on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    async function createPatient(body = patient()) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: body,
      });
      expect(response.statusCode).toBe(201);
      const created = json(response.body);
      return { response, created, id: String(created.id) };
    }

    describe('create (http.html#create)', () => {
      it('answers 201 with Location, ETag, Last-Modified and the stored resource', async () => {
        const { response, created, id } = await createPatient();
        expect(response.headers.location).toBe(`http://fhir.test/fhir/Patient/${id}/_history/1`);
        expect(response.headers.etag).toBe('W/"1"');
        expect(response.headers['last-modified']).toMatch(/GMT$/);
        expect(response.headers['content-type']).toMatch(/^application\/fhir\+json/);
        expect(at(created, 'meta', 'versionId')).toBe('1');
        expect(new Date(String(at(created, 'meta', 'lastUpdated'))).toUTCString()).toBe(
          response.headers['last-modified'],
        );
      });

      it('ignores an id in the body and assigns its own', async () => {
        const { id } = await createPatient(patient({ id: 'client-chosen' }));
        expect(id).not.toBe('client-chosen');
      });

      it('accepts application/json as well as application/fhir+json', async () => {
        const response = await t.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: { 'content-type': 'application/json' },
          payload: patient(),
        });
        expect(response.statusCode).toBe(201);
      });

      it('answers Prefer: return=minimal with no body and return=OperationOutcome with an outcome', async () => {
        const minimal = await t.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: { ...FHIR_JSON, prefer: 'return=minimal' },
          payload: patient(),
        });
        expect(minimal.statusCode).toBe(201);
        expect(minimal.body).toBe('');
        expect(minimal.headers.location).toBeDefined();
        const outcome = await t.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: { ...FHIR_JSON, prefer: 'return=OperationOutcome' },
          payload: patient(),
        });
        expect(json(outcome.body).resourceType).toBe('OperationOutcome');
      });
    });

    describe('errors are OperationOutcomes with the right status (http.html#Status-codes)', () => {
      const cases: Array<[string, () => Promise<{ statusCode: number; body: string }>, number, string]> = [
        [
          'malformed JSON',
          () =>
            t.app.inject({
              method: 'POST',
              url: '/fhir/Patient',
              headers: FHIR_JSON,
              payload: '{"resourceType": ',
            }),
          400,
          'structure',
        ],
        [
          'an unknown resource type in the URL',
          () => t.app.inject({ method: 'GET', url: '/fhir/Spaceship/1' }),
          404,
          'not-supported',
        ],
        [
          'a resourceType that differs from the URL',
          () =>
            t.app.inject({
              method: 'POST',
              url: '/fhir/Observation',
              headers: FHIR_JSON,
              payload: patient(),
            }),
          400,
          'invalid',
        ],
        [
          'an unknown element',
          () =>
            t.app.inject({
              method: 'POST',
              url: '/fhir/Patient',
              headers: FHIR_JSON,
              payload: { ...patient(), favouriteColour: 'blue' },
            }),
          400,
          'structure',
        ],
        [
          'a primitive that breaks its type',
          () =>
            t.app.inject({
              method: 'POST',
              url: '/fhir/Patient',
              headers: FHIR_JSON,
              payload: { ...patient(), birthDate: '02/03/1984' },
            }),
          422,
          'value',
        ],
        [
          'an unsupported media type',
          () =>
            t.app.inject({
              method: 'POST',
              url: '/fhir/Patient',
              headers: { 'content-type': 'application/xml' },
              payload: '<Patient/>',
            }),
          415,
          'not-supported',
        ],
        [
          'a method the URL does not allow',
          () =>
            t.app.inject({
              method: 'POST',
              url: '/fhir/Patient/abc',
              headers: FHIR_JSON,
              payload: patient(),
            }),
          405,
          'not-supported',
        ],
        [
          'an invalid id in the URL',
          () => t.app.inject({ method: 'GET', url: '/fhir/Patient/not_a_valid_id!' }),
          400,
          'invalid',
        ],
        [
          'an unknown id',
          () => t.app.inject({ method: 'GET', url: '/fhir/Patient/never-existed' }),
          404,
          'not-found',
        ],
        [
          'a format other than JSON (_format=xml)',
          () => t.app.inject({ method: 'GET', url: '/fhir/metadata?_format=xml' }),
          406,
          'not-supported',
        ],
      ];
      for (const [what, send, status, code] of cases) {
        it(`answers ${status} (${code}) for ${what}`, async () => {
          const response = await send();
          expect(response.statusCode).toBe(status);
          const outcome = json(response.body);
          expect(outcome.resourceType).toBe('OperationOutcome');
          expect(at(outcome, 'issue', 0, 'code')).toBe(code);
          expect(at(outcome, 'issue', 0, 'diagnostics')).toEqual(expect.any(String));
        });
      }

      it('points at the offending element with a FHIRPath expression', async () => {
        const response = await t.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: FHIR_JSON,
          payload: { ...patient(), name: [{ family: 'X', nickname: 'Y' }] },
        });
        expect(response.statusCode).toBe(400);
        expect(at(json(response.body), 'issue', 0, 'expression', 0)).toBe('Patient.name[0].nickname');
      });

      it('answers 413 when the body exceeds the configured limit', async () => {
        const small = await createTestApp(database, { CONCORDIA_MAX_BODY_BYTES: '2048' });
        try {
          const response = await small.app.inject({
            method: 'POST',
            url: '/fhir/Patient',
            headers: FHIR_JSON,
            payload: { ...patient(), name: [{ family: 'x'.repeat(4096) }] },
          });
          expect(response.statusCode).toBe(413);
          expect(json(response.body).resourceType).toBe('OperationOutcome');
        } finally {
          await small.close();
        }
      });
    });

    describe('read and vread (http.html#read, #vread)', () => {
      it('reads the current version with its ETag', async () => {
        const { id } = await createPatient(patient({ family: 'Melnyk' }));
        const response = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
        expect(response.statusCode).toBe(200);
        expect(response.headers.etag).toBe('W/"1"');
        expect(at(json(response.body), 'name', 0, 'family')).toBe('Melnyk');
      });

      it('answers HEAD like GET without a body', async () => {
        const { id } = await createPatient();
        const response = await t.app.inject({ method: 'HEAD', url: `/fhir/Patient/${id}` });
        expect(response.statusCode).toBe(200);
        expect(response.headers.etag).toBe('W/"1"');
        expect(response.body).toBe('');
      });

      it('answers 304 to If-None-Match with the current ETag and to a later If-Modified-Since (http.html#cread)', async () => {
        const { id, response: created } = await createPatient();
        const byTag = await t.app.inject({
          method: 'GET',
          url: `/fhir/Patient/${id}`,
          headers: { 'if-none-match': 'W/"1"' },
        });
        expect(byTag.statusCode).toBe(304);
        const stale = await t.app.inject({
          method: 'GET',
          url: `/fhir/Patient/${id}`,
          headers: { 'if-none-match': 'W/"7"' },
        });
        expect(stale.statusCode).toBe(200);
        const byDate = await t.app.inject({
          method: 'GET',
          url: `/fhir/Patient/${id}`,
          headers: { 'if-modified-since': String(created.headers['last-modified']) },
        });
        expect(byDate.statusCode).toBe(304);
      });

      it('reads an old version by vread and 404s an unknown version', async () => {
        const { id, created } = await createPatient();
        await t.app.inject({
          method: 'PUT',
          url: `/fhir/Patient/${id}`,
          headers: FHIR_JSON,
          payload: { ...created, gender: 'male' },
        });
        const first = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/_history/1` });
        expect(first.statusCode).toBe(200);
        expect(json(first.body).gender).toBe('female');
        const missing = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/_history/9` });
        expect(missing.statusCode).toBe(404);
      });

      it('shapes a read with _summary, _elements and _pretty (search.html#summary, #elements)', async () => {
        const { id } = await createPatient();
        const summary = json(
          (await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}?_summary=true` })).body,
        );
        expect(summary.name).toBeDefined();
        expect(at(summary, 'meta', 'tag', 0, 'code')).toBe('SUBSETTED');
        const elements = json(
          (await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}?_elements=gender` })).body,
        );
        expect(elements.gender).toBe('female');
        expect(elements.name).toBeUndefined();
        const pretty = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}?_pretty=true` });
        expect(pretty.body).toContain('\n  "resourceType"');
      });
    });

    describe('update (http.html#update)', () => {
      it('writes version 2 and keeps version 1 in history', async () => {
        const { id, created } = await createPatient();
        const response = await t.app.inject({
          method: 'PUT',
          url: `/fhir/Patient/${id}`,
          headers: FHIR_JSON,
          payload: { ...created, gender: 'other' },
        });
        expect(response.statusCode).toBe(200);
        expect(response.headers.etag).toBe('W/"2"');
        expect(at(json(response.body), 'meta', 'versionId')).toBe('2');
      });

      it('answers 400 when the body id is missing or differs from the URL', async () => {
        const { id } = await createPatient();
        const missing = await t.app.inject({
          method: 'PUT',
          url: `/fhir/Patient/${id}`,
          headers: FHIR_JSON,
          payload: patient(),
        });
        expect(missing.statusCode).toBe(400);
        const differs = await t.app.inject({
          method: 'PUT',
          url: `/fhir/Patient/${id}`,
          headers: FHIR_JSON,
          payload: patient({ id: 'someone-else' }),
        });
        expect(differs.statusCode).toBe(400);
      });

      it('creates with the client id when update-as-create is allowed (201)', async () => {
        const response = await t.app.inject({
          method: 'PUT',
          url: '/fhir/Patient/chosen-by-client',
          headers: FHIR_JSON,
          payload: patient({ id: 'chosen-by-client' }),
        });
        expect(response.statusCode).toBe(201);
        expect(response.headers.location).toBe('http://fhir.test/fhir/Patient/chosen-by-client/_history/1');
      });

      it('answers 405 to update-as-create when the server does not allow client ids', async () => {
        const strict = await createTestApp(database, { CONCORDIA_UPDATE_CREATE: 'false' });
        try {
          const response = await strict.app.inject({
            method: 'PUT',
            url: '/fhir/Patient/new-one',
            headers: FHIR_JSON,
            payload: patient({ id: 'new-one' }),
          });
          expect(response.statusCode).toBe(405);
        } finally {
          await strict.close();
        }
      });

      it('answers 412 when If-Match names another version (http.html#concurrency)', async () => {
        const { id, created } = await createPatient();
        const stale = await t.app.inject({
          method: 'PUT',
          url: `/fhir/Patient/${id}`,
          headers: { ...FHIR_JSON, 'if-match': 'W/"5"' },
          payload: created,
        });
        expect(stale.statusCode).toBe(412);
        const current = await t.app.inject({
          method: 'PUT',
          url: `/fhir/Patient/${id}`,
          headers: { ...FHIR_JSON, 'if-match': 'W/"1"' },
          payload: created,
        });
        expect(current.statusCode).toBe(200);
        expect(current.headers.etag).toBe('W/"2"');
      });
    });

    describe('delete (http.html#delete)', () => {
      it('deletes, then reads 410, vreads the tombstone 410, and deleting again still succeeds', async () => {
        const { id } = await createPatient();
        const deleted = await t.app.inject({ method: 'DELETE', url: `/fhir/Patient/${id}` });
        expect(deleted.statusCode).toBe(204);
        const read = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
        expect(read.statusCode).toBe(410);
        expect(at(json(read.body), 'issue', 0, 'code')).toBe('deleted');
        const tombstone = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/_history/2` });
        expect(tombstone.statusCode).toBe(410);
        const again = await t.app.inject({ method: 'DELETE', url: `/fhir/Patient/${id}` });
        expect(again.statusCode).toBe(204);
        const history = json(
          (await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/_history` })).body,
        );
        expect(at(history, 'entry', 0, 'request', 'method')).toBe('DELETE');
        expect(at(history, 'entry', 1, 'request', 'method')).toBe('POST');
        expect(at(history, 'entry', 2)).toBeUndefined();
      });

      it('lets an update bring a deleted resource back as a new version (201)', async () => {
        const { id, created } = await createPatient();
        await t.app.inject({ method: 'DELETE', url: `/fhir/Patient/${id}` });
        const revived = await t.app.inject({
          method: 'PUT',
          url: `/fhir/Patient/${id}`,
          headers: FHIR_JSON,
          payload: created,
        });
        expect(revived.statusCode).toBe(201);
        expect(revived.headers.etag).toBe('W/"3"');
      });

      it('answers 204 for an id that never existed', async () => {
        const response = await t.app.inject({ method: 'DELETE', url: '/fhir/Patient/never-was' });
        expect(response.statusCode).toBe(204);
      });
    });

    describe('patch (http.html#patch)', () => {
      it('applies a JSON Patch (RFC 6902)', async () => {
        const { id } = await createPatient();
        const response = await t.app.inject({
          method: 'PATCH',
          url: `/fhir/Patient/${id}`,
          headers: { 'content-type': 'application/json-patch+json' },
          payload: [{ op: 'replace', path: '/gender', value: 'male' }],
        });
        expect(response.statusCode).toBe(200);
        expect(json(response.body).gender).toBe('male');
        expect(response.headers.etag).toBe('W/"2"');
      });

      it('applies a FHIRPath Patch (fhirpatch.html)', async () => {
        const { id } = await createPatient();
        const response = await t.app.inject({
          method: 'PATCH',
          url: `/fhir/Patient/${id}`,
          headers: FHIR_JSON,
          payload: {
            resourceType: 'Parameters',
            parameter: [
              {
                name: 'operation',
                part: [
                  { name: 'type', valueCode: 'replace' },
                  { name: 'path', valueString: 'Patient.birthDate' },
                  { name: 'value', valueDate: '1990-01-01' },
                ],
              },
            ],
          },
        });
        expect(response.statusCode).toBe(200);
        expect(json(response.body).birthDate).toBe('1990-01-01');
      });

      it('rejects a patch whose result is not valid FHIR and stores nothing', async () => {
        const { id } = await createPatient();
        const response = await t.app.inject({
          method: 'PATCH',
          url: `/fhir/Patient/${id}`,
          headers: { 'content-type': 'application/json-patch+json' },
          payload: [{ op: 'replace', path: '/birthDate', value: 'yesterday' }],
        });
        expect(response.statusCode).toBe(422);
        const read = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
        expect(read.headers.etag).toBe('W/"1"');
      });

      it('rejects a patch that changes the id', async () => {
        const { id } = await createPatient();
        const response = await t.app.inject({
          method: 'PATCH',
          url: `/fhir/Patient/${id}`,
          headers: { 'content-type': 'application/json-patch+json' },
          payload: [{ op: 'replace', path: '/id', value: 'other' }],
        });
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
      });
    });

    describe('history (http.html#history)', () => {
      it('pages through type history with _count and next links, newest first', async () => {
        const isolated = await createTestApp(database);
        try {
          for (let n = 0; n < 5; n++) {
            await isolated.app.inject({
              method: 'POST',
              url: '/fhir/Patient',
              headers: FHIR_JSON,
              payload: patient(),
            });
          }
          const seen: string[] = [];
          let url: string | undefined = '/fhir/Patient/_history?_count=2';
          while (url !== undefined) {
            const page = json((await isolated.app.inject({ method: 'GET', url })).body);
            expect(page.type).toBe('history');
            const entries = at(page, 'entry');
            for (const entry of Array.isArray(entries) ? entries : [])
              seen.push(String(at(entry, 'resource', 'id')));
            const links = at(page, 'link');
            const next = Array.isArray(links)
              ? links.find((link) => at(link, 'relation') === 'next')
              : undefined;
            url = next === undefined ? undefined : String(at(next, 'url')).replace('http://fhir.test', '');
          }
          expect(seen).toHaveLength(5);
          expect(new Set(seen).size).toBe(5);
        } finally {
          await isolated.close();
        }
      });

      it('filters with _since and reports versions current _at an instant', async () => {
        const { id, created } = await createPatient();
        const firstTime = String(at(created, 'meta', 'lastUpdated'));
        await new Promise((resolve) => setTimeout(resolve, 15));
        const updated = json(
          (
            await t.app.inject({
              method: 'PUT',
              url: `/fhir/Patient/${id}`,
              headers: FHIR_JSON,
              payload: { ...created, gender: 'male' },
            })
          ).body,
        );
        const secondTime = String(at(updated, 'meta', 'lastUpdated'));
        const since = json(
          (
            await t.app.inject({
              method: 'GET',
              url: `/fhir/Patient/${id}/_history?_since=${encodeURIComponent(secondTime)}`,
            })
          ).body,
        );
        expect(at(since, 'entry', 0, 'resource', 'meta', 'versionId')).toBe('2');
        expect(at(since, 'entry', 1)).toBeUndefined();
        const atFirst = json(
          (
            await t.app.inject({
              method: 'GET',
              url: `/fhir/Patient/${id}/_history?_at=${encodeURIComponent(firstTime)}`,
            })
          ).body,
        );
        expect(at(atFirst, 'entry', 0, 'resource', 'meta', 'versionId')).toBe('1');
      });

      it('answers 400 for a malformed _since and 404 for the history of an unknown id', async () => {
        const bad = await t.app.inject({ method: 'GET', url: '/fhir/_history?_since=last-tuesday' });
        expect(bad.statusCode).toBe(400);
        const unknown = await t.app.inject({ method: 'GET', url: '/fhir/Patient/never-was/_history' });
        expect(unknown.statusCode).toBe(404);
      });

      it('lists every resource type in system history', async () => {
        const { id } = await createPatient();
        await t.app.inject({
          method: 'POST',
          url: '/fhir/Observation',
          headers: FHIR_JSON,
          payload: observation(`Patient/${id}`),
        });
        const page = json((await t.app.inject({ method: 'GET', url: '/fhir/_history?_count=2' })).body);
        const types = [
          at(page, 'entry', 0, 'resource', 'resourceType'),
          at(page, 'entry', 1, 'resource', 'resourceType'),
        ];
        expect(types).toEqual(['Observation', 'Patient']);
      });
    });

    describe('capabilities (http.html#capabilities)', () => {
      it('describes exactly the interactions served', async () => {
        const response = await t.app.inject({ method: 'GET', url: '/fhir/metadata' });
        expect(response.statusCode).toBe(200);
        const statement = json(response.body);
        expect(statement.resourceType).toBe('CapabilityStatement');
        expect(statement.fhirVersion).toBe('4.0.1');
        const resources = at(statement, 'rest', 0, 'resource');
        const patientEntry = Array.isArray(resources)
          ? resources.find((r) => at(r, 'type') === 'Patient')
          : undefined;
        const codes = at(patientEntry, 'interaction');
        expect(Array.isArray(codes) ? codes.map((c) => at(c, 'code')) : []).toEqual(
          expect.arrayContaining([
            'read',
            'vread',
            'update',
            'patch',
            'delete',
            'history-instance',
            'create',
          ]),
        );
        expect(Array.isArray(codes) ? codes.map((c) => at(c, 'code')) : []).toContain('search-type');
      });
    });
  });
}
