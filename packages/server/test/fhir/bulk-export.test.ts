import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, FHIR_JSON, json, observation, patient, type TestApp } from '../support/test-app.ts';
import { awaitManifest, download, exportDir, ids, kickOff, local } from './bulk-export-client.ts';

describe.each(testDatabases())('bulk data export on $name (bulkdata/export.html)', (database) => {
  let t: TestApp;
  let dir: string;
  const patients: string[] = [];
  const observations: string[] = [];
  let practitioner = '';

  async function create(resource: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await t.app.inject({
      method: 'POST',
      url: `/fhir/${resource.resourceType}`,
      headers: FHIR_JSON,
      payload: resource,
    });
    expect(response.statusCode, response.body).toBe(201);
    return json(response.body);
  }

  async function exportOf(url: string, options: Parameters<typeof kickOff>[2] = {}) {
    const response = await kickOff(t.app, url, options);
    expect(response.statusCode, response.body).toBe(202);
    const statusUrl = String(response.headers['content-location']);
    const manifest = await awaitManifest(t.app, statusUrl);
    return { statusUrl, manifest, ...(await download(t.app, manifest.output)) };
  }

  beforeAll(async () => {
    dir = await exportDir();
    t = await createTestApp(database, {
      CONCORDIA_EXPORT_DIR: dir,
      CONCORDIA_EXPORT_FILE_MAX_RESOURCES: '4',
    });
    for (const family of ['Bondarenko', 'Tkachenko', 'Kravets']) {
      const created = await create(patient({ family }));
      patients.push(String(created.id));
      for (const code of ['8867-4', '8310-5']) {
        observations.push(String((await create(observation(`Patient/${created.id}`, code))).id));
      }
    }
    practitioner = String((await create({ resourceType: 'Practitioner', name: [{ family: 'Lysenko' }] })).id);
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('exports every resource of the requested types once, in files that match the store (export.html#bulk-data-kick-off-request)', async () => {
    const { manifest, byType, lines } = await exportOf(
      '/fhir/$export?_type=Patient,Observation,Practitioner',
    );
    expect(manifest.request).toBe('http://fhir.test/fhir/$export?_type=Patient%2CObservation%2CPractitioner');
    expect(manifest.requiresAccessToken).toBe(false);
    expect(manifest.transactionTime).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(manifest.error).toEqual([]);
    expect(ids(byType.get('Patient'))).toEqual([...patients].sort());
    expect(ids(byType.get('Observation'))).toEqual([...observations].sort());
    expect(ids(byType.get('Practitioner'))).toEqual([practitioner]);
    // At most four lines per file: the Observations fill two files, counted in the manifest.
    const files = manifest.output.filter((entry) => entry.type === 'Observation');
    expect(files.map((entry) => entry.count)).toEqual([4, observations.length - 4]);
    for (const line of lines) {
      const resource = JSON.parse(line);
      const read = await t.app.inject({
        method: 'GET',
        url: `/fhir/${resource.resourceType}/${resource.id}`,
      });
      expect(line).toBe(read.body);
    }
  });

  it('exports every type at system level without _type, and accepts POST with a Parameters body', async () => {
    const system = await exportOf('/fhir/$export');
    expect([...system.byType.keys()]).toEqual(
      expect.arrayContaining(['Observation', 'Patient', 'Practitioner']),
    );
    expect(ids(system.byType.get('Patient'))).toEqual([...patients].sort());
    const posted = await exportOf('/fhir/$export', {
      payload: {
        resourceType: 'Parameters',
        parameter: [
          { name: '_type', valueString: 'Patient' },
          { name: '_outputFormat', valueString: 'ndjson' },
        ],
      },
    });
    expect([...posted.byType.keys()]).toEqual(['Patient']);
  });

  it('exports the compartments of every Patient at Patient level, leaving out the rest', async () => {
    const { byType } = await exportOf('/fhir/Patient/$export?_type=Patient,Observation,Practitioner');
    expect(ids(byType.get('Patient'))).toEqual([...patients].sort());
    expect(ids(byType.get('Observation'))).toEqual([...observations].sort());
    expect(byType.has('Practitioner')).toBe(false);
  });

  it('exports the compartments of the active Patient members of a Group, narrowed by patient', async () => {
    const [first = '', second = '', third = ''] = patients;
    const group = await create({
      resourceType: 'Group',
      type: 'person',
      actual: true,
      member: [
        { entity: { reference: `Patient/${first}` } },
        { entity: { reference: `Patient/${second}` } },
        { entity: { reference: `Patient/${third}` }, inactive: true },
      ],
    });
    const members = await exportOf(`/fhir/Group/${group.id}/$export`);
    expect(ids(members.byType.get('Patient'))).toEqual([first, second].sort());
    expect(members.byType.get('Observation')).toHaveLength(4);

    const one = await exportOf(`/fhir/Group/${group.id}/$export`, {
      payload: {
        resourceType: 'Parameters',
        parameter: [{ name: 'patient', valueReference: { reference: `Patient/${second}` } }],
      },
    });
    expect(ids(one.byType.get('Patient'))).toEqual([second]);
    // A Patient outside the Group adds nothing: a Group export never reaches beyond its members.
    const outsider = await exportOf(`/fhir/Group/${group.id}/$export`, {
      payload: {
        resourceType: 'Parameters',
        parameter: [{ name: 'patient', valueReference: { reference: `Patient/${third}` } }],
      },
    });
    expect(outsider.manifest.output).toEqual([]);
    expect((await kickOff(t.app, '/fhir/Group/unknown/$export')).statusCode).toBe(404);
  });

  it('exports only what changed after _since', async () => {
    const marker = await create({ resourceType: 'Basic', code: { text: 'before the _since instant' } });
    const since = String((marker.meta as Record<string, unknown>).lastUpdated);
    const later = await create(observation(`Patient/${patients[0]}`, '9279-1'));
    observations.push(String(later.id));
    const { byType } = await exportOf(`/fhir/$export?_since=${encodeURIComponent(since)}`);
    expect([...byType.keys()]).toEqual(['Observation']);
    expect(ids(byType.get('Observation'))).toEqual([String(later.id)]);
  });

  it('filters a type with _typeFilter search queries, writing a resource that two match once', async () => {
    const [first = ''] = patients;
    const { byType, manifest } = await exportOf(
      `/fhir/$export?_type=Observation,Practitioner&_typeFilter=${encodeURIComponent('Observation?code=http://loinc.org|8867-4')}&_typeFilter=${encodeURIComponent(`Observation?subject=Patient/${first}`)}`,
    );
    const expected = await t.app.inject({ method: 'GET', url: `/fhir/Observation?code=8867-4&_count=100` });
    const byCode = (json(expected.body).entry as { resource: { id: string } }[]).map(
      (entry) => entry.resource.id,
    );
    const bySubject = await t.app.inject({
      method: 'GET',
      url: `/fhir/Observation?subject=Patient/${first}&_count=100`,
    });
    const ofFirst = (json(bySubject.body).entry as { resource: { id: string } }[]).map(
      (entry) => entry.resource.id,
    );
    expect(ids(byType.get('Observation'))).toEqual([...new Set([...byCode, ...ofFirst])].sort());
    expect(ids(byType.get('Practitioner'))).toEqual([practitioner]);
    expect(manifest.error).toEqual([]);
  });

  it('refuses a kick-off without Prefer: respond-async, without Accept, or with another _outputFormat', async () => {
    const noPrefer = await kickOff(t.app, '/fhir/$export', { headers: { prefer: '' } });
    expect(noPrefer.statusCode).toBe(400);
    expect(json(noPrefer.body).resourceType).toBe('OperationOutcome');
    const noAccept = await t.app.inject({
      method: 'GET',
      url: '/fhir/$export',
      headers: { prefer: 'respond-async' },
    });
    expect(noAccept.statusCode).toBe(400);
    const plainJson = await kickOff(t.app, '/fhir/$export', { headers: { accept: 'application/json' } });
    expect(plainJson.statusCode).toBe(400);
    for (const format of ['application/fhir+json', 'text/csv']) {
      const response = await kickOff(t.app, `/fhir/$export?_outputFormat=${encodeURIComponent(format)}`);
      expect(response.statusCode).toBe(400);
    }
    expect((await kickOff(t.app, '/fhir/$export?_type=Nonsense')).statusCode).toBe(400);
    expect((await kickOff(t.app, '/fhir/$export?_since=2999-01-01T00:00:00Z')).statusCode).toBe(400);
    expect((await kickOff(t.app, '/fhir/$export?_since=yesterday')).statusCode).toBe(400);
  });

  it('refuses unsupported parameters, and under handling=lenient ignores them and reports them in error', async () => {
    const strict = await kickOff(t.app, '/fhir/$export?_type=Patient&includeAssociatedData=_customData');
    expect(strict.statusCode).toBe(400);
    expect(JSON.stringify(json(strict.body))).toContain('includeAssociatedData');
    const filter = `_typeFilter=${encodeURIComponent('Patient?_sort=name')}`;
    expect((await kickOff(t.app, `/fhir/$export?_type=Patient&${filter}`)).statusCode).toBe(400);

    const lenient = await exportOf(
      `/fhir/$export?_type=Patient&includeAssociatedData=_customData&${filter}`,
      {
        headers: { prefer: 'respond-async, handling=lenient' },
      },
    );
    expect(ids(lenient.byType.get('Patient'))).toEqual([...patients].sort());
    expect(lenient.manifest.error).toEqual([expect.objectContaining({ type: 'OperationOutcome', count: 1 })]);
    const errors = await download(t.app, lenient.manifest.error);
    const [outcome] = errors.byType.get('OperationOutcome') ?? [];
    expect(JSON.stringify(outcome)).toContain('includeAssociatedData');
    expect(JSON.stringify(outcome)).toContain('_typeFilter');
  });

  it('returns only the _elements asked for, tagged SUBSETTED', async () => {
    const { byType } = await exportOf('/fhir/$export?_type=Patient&_elements=gender');
    for (const resource of byType.get('Patient') ?? []) {
      expect(Object.keys(resource).sort()).toEqual(['gender', 'id', 'meta', 'resourceType']);
      expect(JSON.stringify(resource.meta)).toContain('SUBSETTED');
    }
  });

  it('deletes the files of a completed export on DELETE, after which the status is 404', async () => {
    const { statusUrl, manifest } = await exportOf('/fhir/$export?_type=Patient');
    const [file] = manifest.output;
    const deleted = await t.app.inject({ method: 'DELETE', url: local(statusUrl) });
    expect(deleted.statusCode).toBe(202);
    expect((await t.app.inject({ method: 'GET', url: local(statusUrl) })).statusCode).toBe(404);
    const gone = await t.app.inject({
      method: 'GET',
      url: local(file?.url ?? ''),
      headers: { accept: 'application/fhir+ndjson' },
    });
    expect(gone.statusCode).toBe(404);
    expect(json(gone.body).resourceType).toBe('OperationOutcome');
    const job = new URL(statusUrl).searchParams.get('job') ?? '';
    await expect(access(join(dir, job))).rejects.toThrow();
  });

  it('cancels a running export on DELETE: its files are removed and its status is 404', async () => {
    const started = await kickOff(t.app, '/fhir/$export');
    const statusUrl = String(started.headers['content-location']);
    const cancelled = await t.app.inject({ method: 'DELETE', url: local(statusUrl) });
    expect(cancelled.statusCode).toBe(202);
    // Waits for the worker to put down the job, wherever it was.
    await t.worker.runUntilIdle();
    expect((await t.app.inject({ method: 'GET', url: local(statusUrl) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: local(statusUrl) })).statusCode).toBe(404);
    const job = new URL(statusUrl).searchParams.get('job') ?? '';
    await expect(access(join(dir, job))).rejects.toThrow();
  });

  it('answers 404 for an unknown export and its files, and lists $export in the CapabilityStatement', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(
      (await t.app.inject({ method: 'GET', url: `/fhir/$export-status?job=${unknown}` })).statusCode,
    ).toBe(404);
    expect(
      (await t.app.inject({ method: 'GET', url: `/fhir/$export-file?job=${unknown}&file=Patient-1.ndjson` }))
        .statusCode,
    ).toBe(404);
    const metadata = await t.app.inject({ method: 'GET', url: '/fhir/metadata' });
    expect(metadata.body).toContain('http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export');
    expect(metadata.body).toContain('http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export');
    expect(metadata.body).toContain('"name":"group-export"');
    expect(metadata.body).toContain('"name":"patient-export"');
  });
});
