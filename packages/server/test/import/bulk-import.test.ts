/**
 * `POST /fhir/$import` (fhir/bulk-import.ts): uploaded NDJSON or a Bundle, or server-side files
 * under CONCORDIA_IMPORT_DIR, loaded by a durable `bulk-import` job with the search index built;
 * failures are reported per resource; re-running changes nothing (version 1 stays); a job stopped
 * mid-file resumes from its checkpoint without duplicating; paths outside the directory are refused.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUploads } from '../../src/import/import-uploads.ts';
import { bulkImportJobHandler } from '../../src/jobs/bulk-import-job.ts';
import { type Job, type JobProgress, JobStopped } from '../../src/jobs/job.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, patient, type TestApp } from '../support/test-app.ts';

const NDJSON = { 'content-type': 'application/fhir+ndjson' };

function ndjson(resources: unknown[]): string {
  return `${resources.map((resource) => JSON.stringify(resource)).join('\n')}\n`;
}

function patients(prefix: string, count: number) {
  return Array.from({ length: count }, (_, index) => ({
    ...patient({ family: `${prefix}-${index}`, identifier: `${prefix}-${index}` }),
    id: `${prefix}-${index}`,
  }));
}

function inputParameters(...urls: string[]) {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'inputFormat', valueCode: 'application/fhir+ndjson' },
      ...urls.map((url) => ({ name: 'input', part: [{ name: 'url', valueUrl: url }] })),
    ],
  };
}

for (const database of testDatabases()) {
  describe(`$import on ${database.name}`, () => {
    let t: TestApp;
    let dataDir: string;
    let importDir: string;
    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'concordia-import-data-'));
      importDir = join(dataDir, 'incoming');
      await mkdir(importDir);
      t = await createTestApp(database, {
        CONCORDIA_DATA_DIR: dataDir,
        CONCORDIA_IMPORT_DIR: importDir,
        CONCORDIA_IMPORT_MAX_UPLOAD_BYTES: String(64 * 1024),
      });
    });
    afterAll(async () => {
      await t?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    /** Kicks off an import and returns the finished job's status Parameters. */
    async function runImport(payload: string | object, headers: Record<string, string>) {
      const kickoff = await t.app.inject({ method: 'POST', url: '/fhir/$import', headers, payload });
      expect(kickoff.statusCode, kickoff.body).toBe(202);
      const status = String(kickoff.headers['content-location']).replace('http://fhir.test', '');
      expect(status).toMatch(/^\/fhir\/\$job\?id=/);
      for (let poll = 0; poll < 800; poll++) {
        const answer = await t.app.inject({ method: 'GET', url: status });
        if (answer.statusCode === 200) return json(answer.body);
        expect(answer.statusCode).toBe(202);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error('the import job did not finish');
    }

    function parameter(status: Record<string, unknown>, name: string): Record<string, unknown> {
      const list = Array.isArray(status.parameter) ? status.parameter : [];
      return list.find((item: Record<string, unknown>) => item.name === name) ?? {};
    }

    function resultValue(status: Record<string, unknown>, name: string): unknown {
      const parts = parameter(status, 'result').part;
      const found = (Array.isArray(parts) ? parts : []).filter((part) => part.name === name);
      return found.length === 1 ? (found[0].valueInteger ?? found[0].part) : found.map((part) => part.part);
    }

    async function versions(type: string, id: string): Promise<number> {
      const history = json((await t.app.inject({ method: 'GET', url: `/fhir/${type}/${id}/_history` })).body);
      return Array.isArray(history.entry) ? history.entry.length : 0;
    }

    it('loads an uploaded NDJSON body with the search index built and reports each failing line', async () => {
      const lines = [
        ...patients('upload', 3),
        { resourceType: 'Patient', id: 'upload-bad', birthDate: 'yesterday' },
        { resourceType: 'Observation', status: 'final', code: { text: 'no id' } },
      ];
      const body = `${ndjson(lines)}{not json\n`;
      const status = await runImport(body, NDJSON);
      expect(at(parameter(status, 'status'), 'valueCode')).toBe('completed');
      expect(resultValue(status, 'resources')).toBe(4);
      expect(resultValue(status, 'failures')).toBe(2);
      const failures = resultValue(status, 'failure');
      expect(JSON.stringify(failures)).toContain('"valueInteger":4');
      expect(JSON.stringify(failures)).toContain('Patient.birthDate');
      expect(JSON.stringify(failures)).toContain('"valueInteger":6');
      const found = json(
        (
          await t.app.inject({
            method: 'GET',
            url: '/fhir/Patient?identifier=https://concordia.example/national-id|upload-1',
          })
        ).body,
      );
      expect(at(found, 'entry', 0, 'resource', 'id')).toBe('upload-1');
      // The upload is deleted once the job has loaded it.
      expect(await readdir(join(dataDir, 'import-uploads'))).toEqual([]);
    });

    it('re-running the same import writes no new version of an unchanged resource', async () => {
      const body = ndjson([
        ...patients('rerun', 2),
        { resourceType: 'Observation', status: 'final', code: { text: 'id-less' } },
      ]);
      await runImport(body, NDJSON);
      const again = await runImport(body, NDJSON);
      expect(resultValue(again, 'failures')).toBe(0);
      expect(await versions('Patient', 'rerun-0')).toBe(1);
      expect(await versions('Patient', 'rerun-1')).toBe(1);
      // A changed resource does get its new version.
      const changed = ndjson([{ ...patients('rerun', 1)[0], gender: 'male' }]);
      await runImport(changed, NDJSON);
      expect(await versions('Patient', 'rerun-0')).toBe(2);
    });

    it('loads a Bundle sent as FHIR JSON', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: patients('bundle-body', 2).map((resource) => ({ resource })),
      };
      const status = await runImport(bundle, FHIR_JSON);
      expect(resultValue(status, 'resources')).toBe(2);
      expect(await versions('Patient', 'bundle-body-1')).toBe(1);
    });

    it('loads server-side files named by path or file: URL under CONCORDIA_IMPORT_DIR', async () => {
      await mkdir(join(importDir, 'batch'), { recursive: true });
      await writeFile(join(importDir, 'batch', 'a.ndjson'), ndjson(patients('server-a', 2)));
      await writeFile(join(importDir, 'b.ndjson'), ndjson(patients('server-b', 1)));
      const status = await runImport(
        inputParameters('batch', `file://${join(importDir, 'b.ndjson')}`),
        FHIR_JSON,
      );
      expect(resultValue(status, 'files')).toBe(2);
      expect(resultValue(status, 'resources')).toBe(3);
      expect(await versions('Patient', 'server-b-0')).toBe(1);
      // Server-side files belong to the operator: the job leaves them alone.
      expect(await readdir(join(importDir, 'batch'))).toEqual(['a.ndjson']);
    });

    it('refuses paths outside CONCORDIA_IMPORT_DIR: .., absolute paths, file: URLs and links that lead out', async () => {
      await writeFile(join(dataDir, 'secret.ndjson'), ndjson(patients('secret', 1)));
      await symlink(join(dataDir, 'secret.ndjson'), join(importDir, 'link.ndjson'));
      for (const url of [
        '../secret.ndjson',
        'batch/../../secret.ndjson',
        join(dataDir, 'secret.ndjson'),
        `file://${join(dataDir, 'secret.ndjson')}`,
        `file://${importDir}/../secret.ndjson`,
        'link.ndjson',
        '/etc/passwd',
      ]) {
        const response = await t.app.inject({
          method: 'POST',
          url: '/fhir/$import',
          headers: FHIR_JSON,
          payload: inputParameters(url),
        });
        expect(response.statusCode, url).toBe(403);
        expect(at(json(response.body), 'issue', 0, 'code')).toBe('forbidden');
      }
      const remote = await t.app.inject({
        method: 'POST',
        url: '/fhir/$import',
        headers: FHIR_JSON,
        payload: inputParameters('https://example.org/data.ndjson'),
      });
      expect(remote.statusCode).toBe(400);
      expect(await versions('Patient', 'secret-0')).toBe(0);
    });

    it('answers 413 for an upload over CONCORDIA_IMPORT_MAX_UPLOAD_BYTES and keeps nothing of it', async () => {
      const body = ndjson(patients('too-big', 400));
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/$import',
        headers: NDJSON,
        payload: body,
      });
      expect(response.statusCode).toBe(413);
      expect(at(json(response.body), 'issue', 0, 'code')).toBe('too-costly');
      expect(await readdir(join(dataDir, 'import-uploads'))).toEqual([]);
      expect(await versions('Patient', 'too-big-0')).toBe(0);
    });

    it('answers 415 for NDJSON sent anywhere but $import, and 400 for $import without data', async () => {
      const elsewhere = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: NDJSON,
        payload: '{}',
      });
      expect(elsewhere.statusCode).toBe(415);
      const empty = await t.app.inject({
        method: 'POST',
        url: '/fhir/$import',
        headers: FHIR_JSON,
        payload: { resourceType: 'Parameters' },
      });
      expect(empty.statusCode).toBe(400);
    });

    it('resumes a job stopped mid-file from its checkpoint without duplicating anything', async () => {
      const uploads = importUploads(dataDir, 1024 * 1024);
      const file = join(importDir, 'resume.ndjson');
      const idless = Array.from({ length: 3 }, (_, index) => ({
        resourceType: 'Observation',
        status: 'final',
        code: { text: `resume-idless-${index}` },
      }));
      await writeFile(file, ndjson([...patients('resume', 4), ...idless]));
      const handler = bulkImportJobHandler({ core: () => t.core, uploads, updateCreate: true, batchSize: 2 });
      const job: Job = {
        id: 'resume-job',
        kind: 'bulk-import',
        status: 'running',
        params: { sources: [{ path: file, label: 'resume.ndjson', upload: false }] },
        progress: {},
        attempts: 1,
        createdAt: '2026-11-24T00:00:00.000Z',
        updatedAt: '2026-11-24T00:00:00.000Z',
      };
      // First run: the node stops at the second checkpoint (after 4 lines), as on shutdown.
      const saved: JobProgress[] = [];
      const stopping = {
        async checkpoint(progress: JobProgress) {
          saved.push(progress);
          if (saved.length === 2) throw new JobStopped('shutdown');
        },
      };
      await expect(handler.run(job, stopping)).rejects.toBeInstanceOf(JobStopped);
      expect(saved[1]).toMatchObject({ fileIndex: 0, items: 4, done: 4 });
      // The resumed run redoes the batch after the checkpoint: as if the crash came before it was saved.
      const resumed = { ...job, attempts: 2, progress: { ...(saved[0] ?? {}) } };
      const result = await handler.run(resumed, { checkpoint: async () => undefined });
      expect(result).toMatchObject({ files: 1, failures: 0 });
      for (let index = 0; index < 4; index++) expect(await versions('Patient', `resume-${index}`)).toBe(1);
      for (const observation of idless) {
        const found = json(
          (
            await t.app.inject({
              method: 'GET',
              url: `/fhir/Observation?code:text=${observation.code.text}&_total=accurate`,
            })
          ).body,
        );
        expect(found.total, observation.code.text).toBe(1);
      }
    });
  });
}
