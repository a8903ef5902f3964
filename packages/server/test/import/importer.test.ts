import { join } from 'node:path';
import { isRecord, operationOutcome } from '@concordia/fhir';
import { describe, expect, it } from 'vitest';
import type { FhirCore, FhirRequest, FhirResponse } from '../../src/fhir/interaction.ts';
import type { ImportFailure } from '../../src/import/apply-import-unit.ts';
import { describeLocation } from '../../src/import/import-item.ts';
import { planImport } from '../../src/import/import-sources.ts';
import { type ImportObserver, runImport } from '../../src/import/importer.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/import');

/**
 * A core that records what it is asked and fails resources whose id starts with "fail", and
 * transactions holding one, as a whole (http.html#transaction).
 */
function recordingCore(): FhirCore & { requests: FhirRequest[] } {
  const requests: FhirRequest[] = [];
  return {
    requests,
    async handle(_ctx, request): Promise<FhirResponse> {
      requests.push(request);
      if (request.path.includes('/fail') || entryUrls(request).some((url) => url.includes('/fail'))) {
        return {
          status: 422,
          interaction: 'update',
          body: {
            kind: 'resource',
            resource: operationOutcome([
              {
                severity: 'error',
                code: 'required',
                diagnostics: 'Patient.gender is required',
                expression: ['Patient.gender'],
              },
            ]),
          },
        };
      }
      if (request.path === '') return bundleResponse(request.body);
      return {
        status: request.method === 'PUT' ? 200 : 201,
        interaction: request.method === 'PUT' ? 'update' : 'create',
      };
    },
  };
}

/** `METHOD url` of each entry of a transaction the importer sent. */
function entryUrls(request: FhirRequest): string[] {
  const bundle = request.body;
  if (request.path !== '' || !isRecord(bundle) || bundle.type !== 'transaction') return [];
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  return entries.map((entry: unknown) => {
    const entryRequest = isRecord(entry) && isRecord(entry.request) ? entry.request : {};
    return `${String(entryRequest.method)} ${String(entryRequest.url)}`;
  });
}

function bundleResponse(bundle: unknown): FhirResponse {
  const type = isRecord(bundle) && bundle.type === 'batch' ? 'batch' : 'transaction';
  const entries = isRecord(bundle) && Array.isArray(bundle.entry) ? bundle.entry : [];
  const entry = entries.map(() => ({ response: { status: '200 OK' } }));
  return {
    status: 200,
    interaction: type,
    body: { kind: 'resource', resource: { resourceType: 'Bundle', type: `${type}-response`, entry } },
  };
}

function collectingObserver(): ImportObserver & { failures: ImportFailure[]; finishedFiles: string[] } {
  const failures: ImportFailure[] = [];
  const finishedFiles: string[] = [];
  return {
    failures,
    finishedFiles,
    started: () => undefined,
    imported: () => undefined,
    failed: (failure) => failures.push(failure),
    fileFinished: (file) => finishedFiles.push(file),
    finished: () => undefined,
  };
}

describe('planImport', () => {
  it('walks directories recursively, keeps only importable files, and puts Synthea directory files first', async () => {
    const plan = await planImport([join(FIXTURES, 'synthea-like')]);
    const names = (files: string[]) =>
      files.map((file) => file.slice(join(FIXTURES, 'synthea-like').length + 1));
    expect(names(plan.first)).toEqual([
      'hospitalInformation1700000000.json',
      'practitionerInformation1700000000.json',
    ]);
    expect(names(plan.rest)).toEqual(['Aaron697_Araujo.json', 'more/bulk-Patient.ndjson']);
  });

  it('names a path that does not exist', async () => {
    await expect(planImport([join(FIXTURES, 'missing')])).rejects.toThrow(
      /missing: no such file or directory/,
    );
  });

  it('refuses a file it cannot read', async () => {
    await expect(planImport([join(FIXTURES, 'synthea-like/README.txt')])).rejects.toThrow(
      /unsupported file type/,
    );
  });
});

describe('runImport', () => {
  it('finishes the files others refer to before starting the rest', async () => {
    const core = recordingCore();
    const observer = collectingObserver();
    const plan = await planImport([join(FIXTURES, 'synthea-like')]);
    const summary = await runImport({ core, plan, observer, concurrency: 4 });
    expect(summary).toMatchObject({ files: 4, resources: 4, failures: 0 });
    const firstTwo = new Set(observer.finishedFiles.slice(0, 2));
    expect(firstTwo).toEqual(new Set(plan.first));
    expect(core.requests.slice(0, 2).every((request) => request.path === '')).toBe(true);
  });

  it('reports each failure with its location and diagnostics, counts it, and goes on', async () => {
    const core = recordingCore();
    const observer = collectingObserver();
    const file = join(FIXTURES, 'resources-with-bad-line.ndjson');
    const summary = await runImport({ core, plan: { first: [], rest: [file] }, observer });
    expect(summary).toMatchObject({ files: 1, resources: 2, failures: 1 });
    expect(observer.failures.map((f) => describeLocation(f.location))).toEqual([`${file}, line 3`]);
    // Both resources go in one transaction, the PUT keeping an unchanged resource at its version.
    expect(core.requests).toHaveLength(1);
    expect(core.requests[0]?.skipUnchanged).toBe(true);
    expect(entryUrls(core.requests[0] as FhirRequest)).toEqual(['PUT Patient/ndjson-1', 'POST Patient']);
  });

  it('splits a failing batch until it finds the failing resource, and loads the rest of it', async () => {
    const core = recordingCore();
    const observer = collectingObserver();
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'concordia-import-'));
    const file = join(dir, 'split.ndjson');
    const ids = Array.from({ length: 40 }, (_, i) => (i === 29 ? 'fail-29' : `split-${i}`));
    await writeFile(file, ids.map((id) => JSON.stringify({ resourceType: 'Patient', id })).join('\n'));
    const summary = await runImport({ core, plan: { first: [], rest: [file] }, observer, batchSize: 40 });
    expect(summary).toMatchObject({ resources: 39, failures: 1 });
    expect(observer.failures.map((f) => describeLocation(f.location))).toEqual([`${file}, line 30`]);
    expect(observer.failures[0]?.diagnostics).toBe(
      'error required at Patient.gender: Patient.gender is required',
    );
    const shape = core.requests.map((r) =>
      r.path === '' ? `transaction of ${entryUrls(r).length}` : r.path,
    );
    expect(shape).toEqual([
      'transaction of 40',
      'transaction of 20',
      'transaction of 20',
      'transaction of 10',
      ...ids.slice(20, 30).map((id) => `Patient/${id}`),
      'transaction of 10',
    ]);
  });

  it('carries the OperationOutcome diagnostics of a rejected resource into the failure', async () => {
    const core = recordingCore();
    const observer = collectingObserver();
    const summary = await runImport({
      core,
      plan: { first: [], rest: [join(FIXTURES, 'collection.json')] },
      observer,
    });
    expect(summary).toMatchObject({ resources: 2, failures: 1 });
    expect(observer.failures[0]).toMatchObject({
      location: { entry: 2 },
      diagnostics: 'the entry has no resource',
    });
  });

  it('reports a file that cannot be read at all and imports the others', async () => {
    const core = recordingCore();
    const observer = collectingObserver();
    const summary = await runImport({
      core,
      plan: { first: [], rest: [join(FIXTURES, 'vanished.ndjson'), join(FIXTURES, 'patient-with-id.json')] },
      observer,
    });
    expect(summary).toMatchObject({ files: 2, resources: 1, failures: 1 });
    expect(observer.failures[0]?.diagnostics).toMatch(/^cannot read the file: ENOENT/);
  });

  it('passes on the diagnostics of the OperationOutcome the core answers with', async () => {
    const core = recordingCore();
    const observer = collectingObserver();
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'concordia-import-'));
    const file = join(dir, 'failing.json');
    await writeFile(file, JSON.stringify({ resourceType: 'Patient', id: 'fail-1' }));
    const summary = await runImport({ core, plan: { first: [], rest: [file] }, observer });
    expect(summary.failures).toBe(1);
    expect(observer.failures[0]?.diagnostics).toBe(
      'error required at Patient.gender: Patient.gender is required',
    );
  });
});
