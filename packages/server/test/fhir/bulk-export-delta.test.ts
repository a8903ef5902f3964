import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, FHIR_JSON, json, observation, patient, type TestApp } from '../support/test-app.ts';
import {
  awaitManifest,
  download,
  exportDir,
  ids,
  kickOff,
  type Manifest,
  type ManifestEntry,
} from './bulk-export-client.ts';

/**
 * What an export says besides the resources themselves (https://hl7.org/fhir/uv/bulkdata/export.html):
 * the manifest's `deleted` files under `_since` ("Response - Complete Status"), and the Provenance
 * resources of `includeAssociatedData` ("Query Parameters").
 */
describe.each(testDatabases())('bulk export deletions and associated data on $name', (database) => {
  let t: TestApp;
  let dir: string;
  /** Patients: kept throughout, deleted before `since`, deleted after it, deleted and created again. */
  let kept = '';
  let deletedBefore = '';
  let deletedAfter = '';
  let recreated = '';
  let observationDeleted = '';
  let observationKept = '';
  let since = '';
  const provenance = { olderOfKept: '', newerOfKept: '', ofObservation: '' };

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

  async function remove(path: string): Promise<void> {
    const response = await t.app.inject({ method: 'DELETE', url: `/fhir/${path}` });
    expect([200, 204], response.body).toContain(response.statusCode);
  }

  /** The database clock has millisecond precision: let it move on, so that `since` falls between. */
  const nextMillisecond = () => new Promise((resolve) => setTimeout(resolve, 5));

  const provenanceOf = (target: string) => ({
    resourceType: 'Provenance',
    target: [{ reference: target }],
    recorded: '2026-01-01T00:00:00Z',
    agent: [{ who: { display: 'Export test' } }],
  });

  async function exportOf(url: string, headers: Record<string, string> = {}) {
    const response = await kickOff(t.app, url, { headers });
    expect(response.statusCode, response.body).toBe(202);
    const manifest: Manifest & { deleted?: ManifestEntry[] } = await awaitManifest(
      t.app,
      String(response.headers['content-location']),
    );
    return { manifest, ...(await download(t.app, manifest.output)) };
  }

  beforeAll(async () => {
    dir = await exportDir();
    t = await createTestApp(database, { CONCORDIA_EXPORT_DIR: dir });
    kept = String((await create(patient({ family: 'Kept' }))).id);
    deletedBefore = String((await create(patient({ family: 'Gone early' }))).id);
    deletedAfter = String((await create(patient({ family: 'Gone late' }))).id);
    recreated = String((await create(patient({ family: 'Back again' }))).id);
    observationDeleted = String((await create(observation(`Patient/${kept}`))).id);
    observationKept = String((await create(observation(`Patient/${kept}`, '8310-5'))).id);
    provenance.olderOfKept = String((await create(provenanceOf(`Patient/${kept}`))).id);
    await nextMillisecond();
    provenance.newerOfKept = String((await create(provenanceOf(`Patient/${kept}`))).id);
    provenance.ofObservation = String((await create(provenanceOf(`Observation/${observationKept}`))).id);
    await remove(`Patient/${deletedBefore}`);
    await nextMillisecond();
    const marker = await create({ resourceType: 'Practitioner', name: [{ family: 'Marker' }] });
    since = String((marker.meta as { lastUpdated: string }).lastUpdated);
    await nextMillisecond();
    await remove(`Patient/${deletedAfter}`);
    await remove(`Observation/${observationDeleted}`);
    await remove(`Patient/${recreated}`);
    const again = await t.app.inject({
      method: 'PUT',
      url: `/fhir/Patient/${recreated}`,
      headers: FHIR_JSON,
      payload: patient({ family: 'Back again', id: recreated }),
    });
    expect(again.statusCode, again.body).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the resources deleted since _since as transaction Bundles of DELETE entries (export.html#response---complete-status)', async () => {
    const { manifest, byType } = await exportOf(
      `/fhir/$export?_type=Patient,Observation&_since=${encodeURIComponent(since)}`,
    );
    // Changed since: only the Patient created again after its deletion.
    expect(ids(byType.get('Patient'))).toEqual([recreated]);
    expect(byType.get('Observation')).toBeUndefined();
    const deletedFiles = manifest.deleted ?? [];
    expect(deletedFiles.every((entry) => entry.type === 'Bundle')).toBe(true);
    const { byType: deletions } = await download(t.app, deletedFiles);
    const bundles = deletions.get('Bundle') ?? [];
    const urls = bundles.flatMap((bundle) => {
      expect(bundle.type).toBe('transaction');
      const entries = bundle.entry as { request: { method: string; url: string } }[];
      return entries.map((entry) => {
        expect(entry.request.method).toBe('DELETE');
        return entry.request.url;
      });
    });
    // Not the Patient deleted before _since, nor the one created again since its deletion.
    expect(urls.sort()).toEqual([`Observation/${observationDeleted}`, `Patient/${deletedAfter}`]);
  });

  it('lists at Group level only the deletions from the compartments of its members', async () => {
    const group = await create({
      resourceType: 'Group',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: `Patient/${kept}` } }],
    });
    const { manifest } = await exportOf(
      `/fhir/Group/${group.id}/$export?_type=Patient,Observation&_since=${encodeURIComponent(since)}`,
    );
    const { byType } = await download(t.app, manifest.deleted ?? []);
    const urls = (byType.get('Bundle') ?? []).flatMap((bundle) =>
      (bundle.entry as { request: { url: string } }[]).map((entry) => entry.request.url),
    );
    // The Observation of the member, not the deleted Patient, who was no member.
    expect(urls).toEqual([`Observation/${observationDeleted}`]);
  });

  it('has no deleted files without _since, when there is nothing to compare with', async () => {
    const { manifest, byType } = await exportOf('/fhir/$export?_type=Patient');
    expect(ids(byType.get('Patient'))).toEqual([kept, recreated].sort());
    expect(manifest.deleted).toBeUndefined();
  });

  it('adds the latest Provenance of each exported resource for LatestProvenanceResources (export.html#query-parameters)', async () => {
    const { byType } = await exportOf(
      '/fhir/$export?_type=Patient&includeAssociatedData=LatestProvenanceResources',
    );
    expect(ids(byType.get('Patient'))).toEqual([kept, recreated].sort());
    // The newer of the two that target the kept Patient; none of the Observation's, not exported.
    expect(ids(byType.get('Provenance'))).toEqual([provenance.newerOfKept]);
  });

  it('adds every Provenance of the exported resources for RelevantProvenanceResources', async () => {
    const { byType } = await exportOf(
      '/fhir/$export?_type=Patient,Observation&includeAssociatedData=RelevantProvenanceResources',
    );
    expect(ids(byType.get('Observation'))).toEqual([observationKept]);
    expect(ids(byType.get('Provenance'))).toEqual(
      [provenance.olderOfKept, provenance.newerOfKept, provenance.ofObservation].sort(),
    );
  });

  it('refuses an includeAssociatedData value it does not support, unless handling=lenient', async () => {
    const strict = await kickOff(t.app, '/fhir/$export?_type=Patient&includeAssociatedData=_notes');
    expect(strict.statusCode).toBe(400);
    expect(strict.body).toContain('includeAssociatedData');
    const lenient = await exportOf(
      '/fhir/$export?_type=Patient&includeAssociatedData=LatestProvenanceResources,_notes',
      { prefer: 'respond-async, handling=lenient' },
    );
    expect(ids(lenient.byType.get('Provenance'))).toEqual([provenance.newerOfKept]);
    expect(lenient.manifest.error).toHaveLength(1);
  });
});
