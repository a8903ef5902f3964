/**
 * NDJSON resources load in batches, each one FHIR transaction through the real core and store
 * (import/import-batches.ts, store/batched-writes.ts): what a batch writes is what single PUTs
 * would have written — versions, search index, audit and ledger rows — a re-run changes nothing,
 * a changed line gets its next version, and a failing line is found and reported by its line
 * while the rest of its batch is still loaded.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { FhirCore, FhirRequest } from '../../src/fhir/interaction.ts';
import { describeLocation } from '../../src/import/import-item.ts';
import { runImport } from '../../src/import/importer.ts';
import type { Database } from '../../src/store/database.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { readNumber } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { createTestCore, failureCollector } from '../support/test-core.ts';

const ctx = systemContext('test');

interface PatientLine {
  resourceType: 'Patient';
  id: string;
  gender: string;
  name: { family: string }[];
  birthDate?: string;
}

function patientLine(id: string, family: string, extra: Partial<PatientLine> = {}): PatientLine {
  return { resourceType: 'Patient', id, gender: 'female', name: [{ family }], ...extra };
}

/** The core, counting what reaches it: transactions (batches) and single requests. */
function countingCore(core: FhirCore): FhirCore & { requests: FhirRequest[] } {
  const requests: FhirRequest[] = [];
  return {
    requests,
    handle(handleCtx, request) {
      requests.push(request);
      return core.handle(handleCtx, request);
    },
  };
}

function shapeOf(requests: readonly FhirRequest[]): string[] {
  return requests.map((request) => {
    if (request.path !== '') return `${request.method} ${request.path}`;
    const entries = (request.body as { entry: unknown[] }).entry;
    return `transaction of ${entries.length}`;
  });
}

for (const database of testDatabases()) {
  describe(`batched import into ${database.name}`, () => {
    let store: ResourceStore;
    let core: FhirCore;
    let db: Database;
    let dir: string;
    beforeAll(async () => {
      ({ store, core, database: db } = await createTestCore(database));
      dir = await mkdtemp(join(tmpdir(), 'concordia-import-batches-'));
    });
    afterAll(async () => {
      await store?.close();
      await rm(dir, { recursive: true, force: true });
    });

    async function ndjsonFile(name: string, lines: readonly unknown[]): Promise<string> {
      const file = join(dir, `${name}.ndjson`);
      await writeFile(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
      return file;
    }

    async function load(file: string, batchSize: number) {
      const counted = countingCore(core);
      const observer = failureCollector();
      const summary = await runImport({
        core: counted,
        plan: { first: [], rest: [file] },
        observer,
        batchSize,
      });
      return { summary, failures: observer.failures, requests: shapeOf(counted.requests) };
    }

    /** The ids of the Patients a search finds, sorted. */
    async function searchIds(query: [string, string][]): Promise<string[]> {
      const answer = await core.handle(ctx, { method: 'GET', path: 'Patient', query, headers: {} });
      expect(answer.status).toBe(200);
      const body = answer.body;
      const bundle =
        body?.kind === 'json' ? JSON.parse(body.json) : body?.kind === 'resource' ? body.resource : {};
      const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
      return entries.map((entry: { resource: { id: string } }) => entry.resource.id).sort();
    }

    async function count(statement: ReturnType<typeof sql>): Promise<number> {
      const [row] = await db.query(statement);
      return row === undefined ? 0 : readNumber(row, 'n');
    }

    it('writes each batch as one transaction with the search index, history, audit and ledger of every resource', async () => {
      const lines = Array.from({ length: 12 }, (_, i) => patientLine(`batch-${i}`, `Batchfamily${i}`));
      const file = await ndjsonFile('batches', lines);
      const { summary, failures, requests } = await load(file, 5);
      expect(failures).toEqual([]);
      expect(summary).toMatchObject({ files: 1, resources: 12, failures: 0 });
      expect(requests).toEqual(['transaction of 5', 'transaction of 5', 'transaction of 2']);

      const patient = await store.read(ctx, 'Patient', 'batch-7');
      expect(patient).toMatchObject({ versionId: 1, method: 'PUT', deleted: false });
      expect(JSON.parse(patient?.json ?? '{}').name).toEqual([{ family: 'Batchfamily7' }]);
      expect(await searchIds([['family', 'batchfamily7']])).toEqual(['batch-7']);
      const ids = lines.map((line) => line.id);
      expect(
        await count(sql`select count(*) as n from resource_history
          where resource_type = 'Patient' and id = any(${ids}::text[])`),
      ).toBe(12);
      const references = ids.map((id) => `Patient/${id}/_history/1`);
      expect(
        // Batches of eight versions or more are access-log batches, smaller ones whole AuditEvents.
        await count(sql`select (select count(*) from audit_access
            where action = 'C' and interaction = 'update' and entities && ${references}::text[])
          + (select count(*) from audit_event where action = 'C' and entity && ${references}::text[]) as n`),
      ).toBe(12);
      expect(
        await count(sql`select count(*) as n from (
            select reference from ledger_entry union select reference from ledger_leaf) l
          where l.reference = any(${references}::text[])`),
      ).toBe(12);
    });

    it('re-running leaves unchanged resources at their version and gives changed ones their next', async () => {
      const lines = Array.from({ length: 6 }, (_, i) => patientLine(`rerun-${i}`, `Rerun${i}`));
      const file = await ndjsonFile('rerun', lines);
      await load(file, 4);
      const again = await load(file, 4);
      expect(again.summary).toMatchObject({ resources: 6, failures: 0 });
      for (const line of lines) {
        expect((await store.read(ctx, 'Patient', line.id))?.versionId).toBe(1);
      }
      const changed = lines.map((line, i) => (i % 2 === 0 ? { ...line, gender: 'male' } : line));
      const third = await load(await ndjsonFile('rerun-changed', changed), 4);
      expect(third.summary).toMatchObject({ resources: 6, failures: 0 });
      expect(third.requests).toEqual(['transaction of 4', 'transaction of 2']);
      const versions = await Promise.all(
        lines.map(async (line) => (await store.read(ctx, 'Patient', line.id))?.versionId),
      );
      expect(versions).toEqual([2, 1, 2, 1, 2, 1]);
      const history = await store.history(ctx, { resourceType: 'Patient', id: 'rerun-0', count: 10 });
      expect(history.versions.map((version) => version.versionId)).toEqual([2, 1]);
      expect(JSON.parse(history.versions[0]?.json ?? '{}').gender).toBe('male');
    });

    it('updates existing resources and creates new ones in the same batch', async () => {
      const existing = patientLine('mixed-old', 'Mixedold');
      await core.handle(ctx, {
        method: 'PUT',
        path: 'Patient/mixed-old',
        query: [],
        headers: { contentType: 'application/fhir+json' },
        body: existing,
      });
      const lines = [
        patientLine('mixed-new-1', 'Mixednew'),
        { ...existing, name: [{ family: 'Mixedrenamed' }] },
        patientLine('mixed-new-2', 'Mixednew'),
      ];
      const { summary, requests } = await load(await ndjsonFile('mixed', lines), 10);
      expect(summary).toMatchObject({ resources: 3, failures: 0 });
      expect(requests).toEqual(['transaction of 3']);
      expect(await store.read(ctx, 'Patient', 'mixed-old')).toMatchObject({ versionId: 2 });
      expect(await store.read(ctx, 'Patient', 'mixed-new-1')).toMatchObject({ versionId: 1 });
      // The old index rows of the updated resource are gone, the new ones are there.
      expect(await searchIds([['family:exact', 'Mixedold']])).toEqual([]);
      expect(await searchIds([['family:exact', 'Mixedrenamed']])).toEqual(['mixed-old']);
      expect(await searchIds([['family:exact', 'Mixednew']])).toEqual(['mixed-new-1', 'mixed-new-2']);
      expect(
        await count(sql`select (select count(*) from audit_access
            where action = 'U' and 'Patient/mixed-old/_history/2' = any(entities))
          + (select count(*) from audit_event where action = 'U' and 'Patient/mixed-old/_history/2' = any(entity)) as n`),
      ).toBe(1);
    });

    it('keeps the order of a file that changes a resource it wrote a few lines before', async () => {
      const lines = [
        patientLine('twice', 'First'),
        patientLine('twice-other', 'Other'),
        patientLine('twice', 'Second'),
      ];
      const { summary, requests } = await load(await ndjsonFile('twice', lines), 10);
      expect(summary).toMatchObject({ resources: 3, failures: 0 });
      expect(requests).toEqual(['transaction of 2', 'PUT Patient/twice']);
      const stored = await store.read(ctx, 'Patient', 'twice');
      expect(stored?.versionId).toBe(2);
      expect(JSON.parse(stored?.json ?? '{}').name).toEqual([{ family: 'Second' }]);
    });

    it('reports a failing line with its diagnostics and loads the rest of its batch', async () => {
      const lines: unknown[] = Array.from({ length: 20 }, (_, i) =>
        patientLine(`isolate-${i}`, `Isolate${i}`),
      );
      lines[12] = patientLine('isolate-12', 'Isolate12', { birthDate: 'not a date' });
      lines[16] = patientLine('isolate-16', 'Isolate16', { birthDate: 'yesterday' });
      const file = await ndjsonFile('isolate', lines);
      const { summary, failures, requests } = await load(file, 20);
      expect(summary).toMatchObject({ resources: 18, failures: 2 });
      expect(failures.map((failure) => describeLocation(failure.location))).toEqual([
        `${file}, line 13`,
        `${file}, line 17`,
      ]);
      for (const failure of failures) expect(failure.diagnostics).toContain('Patient.birthDate');
      // The batch, its halves, then the quarters of the failing half resource by resource.
      expect(requests).toEqual([
        'transaction of 20',
        'transaction of 10',
        'transaction of 10',
        ...Array.from({ length: 10 }, (_, i) => `PUT Patient/isolate-${10 + i}`),
      ]);
      expect(await store.read(ctx, 'Patient', 'isolate-12')).toBeUndefined();
      expect(await store.read(ctx, 'Patient', 'isolate-16')).toBeUndefined();
      const loaded = lines.filter((_, i) => i !== 12 && i !== 16) as PatientLine[];
      for (const line of loaded) {
        expect(await store.read(ctx, 'Patient', line.id), line.id).toMatchObject({ versionId: 1 });
      }
      // Nothing of the failed attempts is left behind: one version, one audit event each.
      expect(await count(sql`select count(*) as n from resource_history where id like 'isolate-%'`)).toBe(18);
    });
  });
}
