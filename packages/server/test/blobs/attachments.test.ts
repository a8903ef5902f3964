/**
 * Every Attachment.data is kept in the encrypted blob store (docs/signatures-and-encryption.md
 * "Attachment.data"): the database holds no plaintext of a clinical note, every read, search and
 * export returns `data` exactly as written, a client cannot name a blob it did not write, and a
 * rolled-back write leaves no blob behind.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOptionalString, readString } from '../../src/store/rows.ts';
import { identifier, sql } from '../../src/store/sql.ts';
import { awaitManifest, download, kickOff } from '../fhir/bulk-export-client.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, type TestApp } from '../support/test-app.ts';
import { filesUnder } from './blob-files.ts';

const NOTE =
  'Progress note: suspected relapse of alcohol use disorder; patient Oksana Kovalenko asked not to tell her employer.';
const ATTACHMENT_BLOB = 'https://concordia.example/fhir/StructureDefinition/attachment-blob';
/** Blobs of this size or more go to blob files in these tests, so that both places are covered. */
const OBJECT_MIN_BYTES = 4096;

const base64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

function documentReference(data: string, subject = 'Patient/p1'): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    subject: { reference: subject },
    content: [{ attachment: { contentType: 'text/plain', data } }],
  };
}

for (const database of testDatabases()) {
  describe(`Attachment.data in the encrypted blob store (${database.name})`, () => {
    let t: TestApp;
    let dataDir: string;

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'concordia-attachments-'));
      t = await createTestApp(database, {
        CONCORDIA_DATA_DIR: dataDir,
        CONCORDIA_EXPORT_DIR: join(dataDir, 'exports'),
        CONCORDIA_ATTACHMENT_OBJECT_MIN_BYTES: String(OBJECT_MIN_BYTES),
      });
      const put = await t.app.inject({
        method: 'PUT',
        url: '/fhir/Patient/p1',
        headers: FHIR_JSON,
        payload: { resourceType: 'Patient', id: 'p1', name: [{ family: 'Kovalenko' }] },
      });
      expect(put.statusCode, put.body).toBe(201);
    });

    afterAll(async () => {
      await t?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    async function create(resource: Record<string, unknown>): Promise<Record<string, unknown>> {
      const created = await t.app.inject({
        method: 'POST',
        url: `/fhir/${String(resource.resourceType)}`,
        headers: { ...FHIR_JSON, prefer: 'return=representation' },
        payload: resource,
      });
      expect(created.statusCode, created.body).toBe(201);
      return json(created.body);
    }

    async function storedContent(resourceType: string, id: string): Promise<string> {
      const [row] = await t.database.query(
        sql`select content from resource where resource_type = ${resourceType} and id = ${id}`,
      );
      return row === undefined ? '' : (readOptionalString(row, 'content') ?? '');
    }

    /** Every row of every table of the schema as text (bytea as hex), joined. */
    async function databaseText(): Promise<string> {
      const tables = await t.database.query(
        sql`select table_name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'`,
      );
      const texts: string[] = [];
      for (const table of tables) {
        const name = readString(table, 'table_name');
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) continue;
        for (const row of await t.database.query(sql`select t::text as row from ${identifier(name)} t`)) {
          texts.push(readOptionalString(row, 'row') ?? '');
        }
      }
      return texts.join('\n');
    }

    it('keeps no plaintext of a note anywhere in the database, and answers the write with data as sent', async () => {
      const data = base64(NOTE);
      const created = await create(documentReference(data));
      expect(at(created, 'content', 0, 'attachment', 'data')).toBe(data);
      expect(at(created, 'content', 0, 'attachment', '_data')).toBeUndefined();
      const id = String(created.id);

      const stored = await storedContent('DocumentReference', id);
      expect(stored).toContain(ATTACHMENT_BLOB);
      expect(stored).toContain(sha256(Buffer.from(NOTE)));
      const everything = await databaseText();
      expect(everything).toContain(sha256(Buffer.from(NOTE)));
      for (const form of [NOTE, 'alcohol use disorder', data, Buffer.from(NOTE).toString('hex')]) {
        expect(everything.includes(form), form).toBe(false);
      }
      for (const file of await filesUnder(dataDir, { missingIsEmpty: true }))
        expect(file.includes(Buffer.from('alcohol'))).toBe(false);
    });

    it('returns data byte for byte from read, vread, history, search with _include and _revinclude, $everything and bulk export', async () => {
      const bytes = Buffer.concat([Buffer.from(`${NOTE} (reads)`), Buffer.from([0, 255, 10, 13, 128])]);
      const data = base64(bytes);
      const id = String((await create(documentReference(data))).id);
      const dataOf = (resource: unknown): unknown => at(resource, 'content', 0, 'attachment', 'data');
      const get = async (url: string): Promise<Record<string, unknown>> => {
        const response = await t.app.inject({ method: 'GET', url });
        expect(response.statusCode, response.body).toBe(200);
        return json(response.body);
      };
      const entryOf = (bundle: Record<string, unknown>): unknown =>
        (Array.isArray(bundle.entry) ? bundle.entry : []).find(
          (entry: unknown) => at(entry, 'resource', 'id') === id,
        );

      expect(dataOf(await get(`/fhir/DocumentReference/${id}`))).toBe(data);
      expect(dataOf(await get(`/fhir/DocumentReference/${id}/_history/1`))).toBe(data);
      expect(dataOf(at(await get(`/fhir/DocumentReference/${id}/_history`), 'entry', 0, 'resource'))).toBe(
        data,
      );
      const matched = await get(`/fhir/DocumentReference?_id=${id}&_include=DocumentReference:subject`);
      expect(dataOf(at(entryOf(matched), 'resource'))).toBe(data);
      const included = await get('/fhir/Patient?_id=p1&_revinclude=DocumentReference:subject');
      expect(at(entryOf(included), 'search', 'mode')).toBe('include');
      expect(dataOf(at(entryOf(included), 'resource'))).toBe(data);
      expect(dataOf(at(entryOf(await get('/fhir/Patient/p1/$everything')), 'resource'))).toBe(data);

      const kicked = await kickOff(t.app, '/fhir/$export?_type=DocumentReference');
      expect(kicked.statusCode, kicked.body).toBe(202);
      const manifest = await awaitManifest(t.app, String(kicked.headers['content-location']));
      const { byType } = await download(t.app, manifest.output);
      const exported = (byType.get('DocumentReference') ?? []).find((resource) => resource.id === id);
      expect(dataOf(exported)).toBe(data);
      expect(Buffer.from(String(dataOf(exported)), 'base64').equals(bytes)).toBe(true);
    });

    it('keeps a large attachment in a blob file and a small one in its row', async () => {
      const large = Buffer.from(`${NOTE} `.repeat(Math.ceil((2 * OBJECT_MIN_BYTES) / NOTE.length)));
      const id = String((await create(documentReference(base64(large)))).id);
      const rows = await t.database.query(
        sql`select hash, ciphertext is null as in_object from blob where hash in (${sha256(large)}, ${sha256(Buffer.from(NOTE))})`,
      );
      const inObject = new Map(rows.map((row) => [readString(row, 'hash'), row.in_object]));
      expect(inObject.get(sha256(large))).toBe(true);
      expect(inObject.get(sha256(Buffer.from(NOTE)))).toBe(false);
      const files = await filesUnder(join(dataDir, 'blobs'), { missingIsEmpty: true });
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect(file.includes(Buffer.from('alcohol'))).toBe(false);
      const read = await t.app.inject({ method: 'GET', url: `/fhir/DocumentReference/${id}` });
      expect(at(json(read.body), 'content', 0, 'attachment', 'data')).toBe(base64(large));
    });

    it('seals attachments of contained resources and of extensions, not SampledData or Signature data', async () => {
      const photo = base64(`${NOTE} (photo)`);
      const contained = base64(`${NOTE} (contained)`);
      const report = base64(`${NOTE} (extension)`);
      const created = await create({
        resourceType: 'DiagnosticReport',
        status: 'final',
        code: { text: 'Dermatoscopy' },
        subject: { reference: 'Patient/p1' },
        contained: [
          {
            resourceType: 'Media',
            id: 'm1',
            status: 'completed',
            content: { contentType: 'text/plain', data: contained },
          },
        ],
        extension: [
          {
            url: 'http://example.org/fhir/StructureDefinition/report',
            valueAttachment: { contentType: 'text/plain', data: report },
          },
        ],
        media: [{ link: { reference: '#m1' } }],
        presentedForm: [{ contentType: 'image/png', data: photo }],
      });
      const id = String(created.id);
      const stored = await storedContent('DiagnosticReport', id);
      for (const data of [photo, contained, report]) expect(stored).not.toContain(data);
      const read = json((await t.app.inject({ method: 'GET', url: `/fhir/DiagnosticReport/${id}` })).body);
      expect(at(read, 'presentedForm', 0, 'data')).toBe(photo);
      expect(at(read, 'contained', 0, 'content', 'data')).toBe(contained);
      expect(at(read, 'extension', 0, 'valueAttachment', 'data')).toBe(report);
      expect(read).toEqual(created);
      const patient = await create({
        resourceType: 'Patient',
        photo: [{ contentType: 'image/png', data: photo }],
      });
      expect(await storedContent('Patient', String(patient.id))).not.toContain(photo);

      // SampledData.data is decimals, not an attachment: it stays as it is.
      const observation = await create({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'ECG' },
        valueSampledData: { origin: { value: 0 }, period: 10, dimensions: 1, data: '1 2 3 E' },
      });
      expect(await storedContent('Observation', String(observation.id))).toContain('"data":"1 2 3 E"');
    });

    it('keeps the content through PATCH, and answers the PATCH with it', async () => {
      const data = base64(`${NOTE} (patched)`);
      const id = String((await create(documentReference(data))).id);
      const patched = await t.app.inject({
        method: 'PATCH',
        url: `/fhir/DocumentReference/${id}`,
        headers: { 'content-type': 'application/json-patch+json', prefer: 'return=representation' },
        payload: JSON.stringify([{ op: 'replace', path: '/status', value: 'superseded' }]),
      });
      expect(patched.statusCode, patched.body).toBe(200);
      expect(json(patched.body)).toMatchObject({
        status: 'superseded',
        content: [{ attachment: { contentType: 'text/plain', data } }],
      });
      const read = await t.app.inject({ method: 'GET', url: `/fhir/DocumentReference/${id}` });
      expect(json(read.body)).toMatchObject({ status: 'superseded', content: [{ attachment: { data } }] });
      expect(await storedContent('DocumentReference', id)).not.toContain(data);
    });

    it('refuses an attachment that names a blob the resource does not already have (400 with the element)', async () => {
      const hash = sha256(Buffer.from(NOTE));
      await create(documentReference(base64(NOTE)));
      const naming = { extension: [{ url: ATTACHMENT_BLOB, valueString: hash }] };
      const stolen = await t.app.inject({
        method: 'POST',
        url: '/fhir/DocumentReference',
        headers: FHIR_JSON,
        payload: {
          ...documentReference(''),
          content: [{ attachment: { contentType: 'text/plain', _data: naming } }],
        },
      });
      expect(stolen.statusCode, stolen.body).toBe(400);
      expect(json(stolen.body)).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ expression: ['DocumentReference.content[0].attachment.data'] }],
      });
      // Nor anywhere else a `_data` may appear: it would be put back on read all the same.
      const elsewhere = await t.app.inject({
        method: 'POST',
        url: '/fhir/Binary',
        headers: FHIR_JSON,
        payload: { resourceType: 'Binary', contentType: 'text/plain', _data: naming },
      });
      expect(elsewhere.statusCode, elsewhere.body).toBe(400);
      expect(elsewhere.body).not.toContain(base64(NOTE));
      // Beside data, a reference is dropped: the content is what was sent.
      const beside = await create({
        ...documentReference(''),
        content: [{ attachment: { contentType: 'text/plain', data: 'aGVsbG8=', _data: naming } }],
      });
      const read = await t.app.inject({ method: 'GET', url: `/fhir/DocumentReference/${beside.id}` });
      expect(at(json(read.body), 'content', 0, 'attachment')).toEqual({
        contentType: 'text/plain',
        data: 'aGVsbG8=',
      });
    });

    it('writes the blobs of a transaction with it, answers its entries with data, and leaves no blob row after a rollback', async () => {
      const first = base64(`${NOTE} (bundle 1)`);
      const second = base64(`${NOTE} (bundle 2)`);
      const committed = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: { ...FHIR_JSON, prefer: 'return=representation' },
        payload: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [first, second].map((data) => ({
            resource: documentReference(data),
            request: { method: 'POST', url: 'DocumentReference' },
          })),
        },
      });
      expect(committed.statusCode, committed.body).toBe(200);
      const answer = json(committed.body);
      expect(at(answer, 'entry', 0, 'resource', 'content', 0, 'attachment', 'data')).toBe(first);
      expect(at(answer, 'entry', 1, 'resource', 'content', 0, 'attachment', 'data')).toBe(second);

      const rolledBack = Buffer.from(`${NOTE} (rolled back)`);
      const failed = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: documentReference(base64(rolledBack)),
              request: { method: 'POST', url: 'DocumentReference' },
            },
            {
              resource: { resourceType: 'Patient', id: 'never-written' },
              request: { method: 'PUT', url: 'Patient/never-written', ifMatch: 'W/"7"' },
            },
          ],
        },
      });
      expect(failed.statusCode, failed.body).toBeGreaterThanOrEqual(400);
      const rows = await t.database.query(sql`select hash from blob where hash = ${sha256(rolledBack)}`);
      expect(rows).toHaveLength(0);
      const committedRows = await t.database.query(
        sql`select hash from blob where hash = ${sha256(Buffer.from(`${NOTE} (bundle 1)`))}`,
      );
      expect(committedRows).toHaveLength(1);
    });
  });
}
