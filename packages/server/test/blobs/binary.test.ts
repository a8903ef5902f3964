/**
 * Binary resources keep their content in the encrypted blob store (http://hl7.org/fhir/R4/binary.html,
 * http.html#binary): the resource table holds a reference, every read returns the whole Binary,
 * and raw bytes go in and out with their own media type.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOptionalString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, type TestApp } from '../support/test-app.ts';
import { filesUnder } from './blob-files.ts';

const SECRET = 'Histology: malignant melanoma, Breslow 2.1 mm — patient Oksana Kovalenko';

for (const database of testDatabases()) {
  describe(`Binary content in the encrypted blob store (${database.name})`, () => {
    let t: TestApp;
    let dataDir: string;

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'concordia-binary-'));
      // Blob files are under test here; small blobs in rows are tested with attachments.
      t = await createTestApp(database, {
        CONCORDIA_DATA_DIR: dataDir,
        CONCORDIA_ATTACHMENT_OBJECT_MIN_BYTES: '0',
      });
    });

    afterAll(async () => {
      await t?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    async function storedContent(id: string): Promise<string> {
      const [row] = await t.database.query(
        sql`select content from resource where resource_type = 'Binary' and id = ${id}`,
      );
      return row === undefined ? '' : (readOptionalString(row, 'content') ?? '');
    }

    it('stores Binary.data encrypted in the blob store and reads the whole Binary back', async () => {
      const data = Buffer.from(SECRET).toString('base64');
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/Binary',
        headers: FHIR_JSON,
        payload: { resourceType: 'Binary', contentType: 'text/plain', data },
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = String(json(created.body).id);
      // The answer to the write shows the content too, not the stored reference.
      expect(json(created.body)).toMatchObject({ data });
      expect(json(created.body)._data).toBeUndefined();

      const stored = await storedContent(id);
      expect(stored).not.toContain(data);
      expect(stored).toContain('binary-blob');
      for (const file of await filesUnder(join(dataDir, 'blobs'))) {
        expect(file.includes(Buffer.from('melanoma'))).toBe(false);
      }

      const read = await t.app.inject({ method: 'GET', url: `/fhir/Binary/${id}` });
      expect(json(read.body)).toMatchObject({ resourceType: 'Binary', id, contentType: 'text/plain', data });
      expect(json(read.body)._data).toBeUndefined();
      const vread = await t.app.inject({ method: 'GET', url: `/fhir/Binary/${id}/_history/1` });
      expect(at(json(vread.body), 'data')).toBe(data);
      const history = await t.app.inject({ method: 'GET', url: `/fhir/Binary/${id}/_history` });
      expect(at(json(history.body), 'entry', 0, 'resource', 'data')).toBe(data);
      const search = await t.app.inject({ method: 'GET', url: `/fhir/Binary?_id=${id}` });
      expect(at(json(search.body), 'entry', 0, 'resource', 'data')).toBe(data);
    });

    it('takes a raw upload with its own Content-Type and returns the bytes to a non-FHIR Accept (http.html#binary)', async () => {
      const pdf = Buffer.concat([
        Buffer.from('%PDF-1.7\n'),
        Buffer.from(SECRET),
        Buffer.from([0, 255, 1, 254]),
      ]);
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/Binary',
        headers: { 'content-type': 'application/pdf' },
        payload: pdf,
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = String(json(created.body).id);
      expect(at(json(created.body), 'contentType')).toBe('application/pdf');

      const raw = await t.app.inject({
        method: 'GET',
        url: `/fhir/Binary/${id}`,
        headers: { accept: 'application/pdf' },
      });
      expect(raw.statusCode).toBe(200);
      expect(raw.headers['content-type']).toBe('application/pdf');
      expect(raw.rawPayload.equals(pdf)).toBe(true);

      const asFhir = await t.app.inject({
        method: 'GET',
        url: `/fhir/Binary/${id}`,
        headers: { accept: 'application/fhir+json' },
      });
      expect(at(json(asFhir.body), 'data')).toBe(pdf.toString('base64'));
    });

    it('takes a raw PUT to a client-chosen id, making a new version', async () => {
      const put = (body: string) =>
        t.app.inject({
          method: 'PUT',
          url: '/fhir/Binary/scan-1',
          headers: { 'content-type': 'image/png' },
          payload: Buffer.from(body),
        });
      expect((await put('first')).statusCode).toBe(201);
      const second = await put('second');
      expect(second.statusCode).toBe(200);
      const raw = await t.app.inject({
        method: 'GET',
        url: '/fhir/Binary/scan-1',
        headers: { accept: 'image/png' },
      });
      expect(raw.body).toBe('second');
      const first = await t.app.inject({ method: 'GET', url: '/fhir/Binary/scan-1/_history/1' });
      expect(Buffer.from(String(at(json(first.body), 'data')), 'base64').toString()).toBe('first');
    });

    it('stores a Binary of a transaction Bundle in the blob store within the Bundle’s transaction', async () => {
      const data = Buffer.from(`${SECRET} (bundle)`).toString('base64');
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: { resourceType: 'Binary', contentType: 'text/plain', data },
              request: { method: 'POST', url: 'Binary' },
            },
          ],
        },
      });
      expect(response.statusCode, response.body).toBe(200);
      const id =
        /Binary\/([^/]+)/.exec(String(at(json(response.body), 'entry', 0, 'response', 'location')))?.[1] ??
        '';
      expect(await storedContent(id)).not.toContain(data);
      const read = await t.app.inject({ method: 'GET', url: `/fhir/Binary/${id}` });
      expect(at(json(read.body), 'data')).toBe(data);
    });

    it('refuses Binary.data that is not base64', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/Binary',
        headers: FHIR_JSON,
        payload: { resourceType: 'Binary', contentType: 'text/plain', data: 'not base64!' },
      });
      // Validation may refuse it before the blob store sees it (422); either way nothing is stored.
      expect([400, 422]).toContain(response.statusCode);
    });

    it('refuses a Binary that names another blob instead of sending content, and keeps its own reference through PATCH', async () => {
      const data = Buffer.from(SECRET).toString('base64');
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/Binary',
        headers: FHIR_JSON,
        payload: { resourceType: 'Binary', contentType: 'text/plain', data },
      });
      const id = String(json(created.body).id);
      const hash = /"valueString":"([0-9a-f]{64})"/.exec(await storedContent(id))?.[1] ?? '';
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      const naming = {
        extension: [
          { url: 'https://concordia.example/fhir/StructureDefinition/binary-blob', valueString: hash },
        ],
      };

      // Knowing a hash must not be a way to read the content behind it.
      const stolen = await t.app.inject({
        method: 'POST',
        url: '/fhir/Binary',
        headers: FHIR_JSON,
        payload: { resourceType: 'Binary', contentType: 'text/plain', _data: naming },
      });
      expect(stolen.statusCode, stolen.body).toBe(400);
      expect(stolen.body).toContain('is set by the server');
      const beside = await t.app.inject({
        method: 'POST',
        url: '/fhir/Binary',
        headers: FHIR_JSON,
        payload: { resourceType: 'Binary', contentType: 'text/plain', data: 'aGVsbG8=', _data: naming },
      });
      expect(beside.statusCode, beside.body).toBe(201);
      const besideRead = await t.app.inject({ method: 'GET', url: `/fhir/Binary/${json(beside.body).id}` });
      expect(json(besideRead.body)).toMatchObject({ data: 'aGVsbG8=' });
      expect(besideRead.body).not.toContain(hash);

      // A PATCH reads the stored form (with the reference) inside its transaction and writes it back.
      const patched = await t.app.inject({
        method: 'PATCH',
        url: `/fhir/Binary/${id}`,
        headers: { 'content-type': 'application/json-patch+json' },
        payload: JSON.stringify([{ op: 'replace', path: '/contentType', value: 'text/markdown' }]),
      });
      expect(patched.statusCode, patched.body).toBe(200);
      const read = await t.app.inject({ method: 'GET', url: `/fhir/Binary/${id}` });
      expect(json(read.body)).toMatchObject({ contentType: 'text/markdown', data });
    });
  });
}
