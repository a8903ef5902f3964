/**
 * The importer against the real FHIR core and store: what the files say is what the server holds,
 * the core's own diagnostics explain what it refused, and a second run changes nothing new.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { FhirCore } from '../../src/fhir/interaction.ts';
import { runImport } from '../../src/import/importer.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { testDatabases } from '../support/databases.ts';
import { createTestCore, failureCollector } from '../support/test-core.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/import');
const ctx = systemContext('test');

for (const database of testDatabases()) {
  describe(`import into ${database.name}`, () => {
    let store: ResourceStore;
    let core: FhirCore;
    beforeAll(async () => {
      ({ store, core } = await createTestCore(database));
    });
    afterAll(async () => {
      await store?.close();
    });

    it('stores a transaction Bundle with its urn:uuid references resolved to the new ids', async () => {
      const summary = await runImport({
        core,
        plan: { first: [], rest: [join(FIXTURES, 'transaction.json')] },
      });
      expect(summary).toMatchObject({ files: 1, resources: 2, failures: 0 });
      const history = await store.history(ctx, { resourceType: 'Observation', count: 10 });
      const observation = JSON.parse(history.versions[0]?.json ?? '{}');
      expect(observation.subject.reference).toMatch(/^Patient\/[0-9a-f-]{36}$/);
      const patientId = observation.subject.reference.slice('Patient/'.length);
      expect((await store.read(ctx, 'Patient', patientId))?.json).toContain('Шевченко');
    });

    it('reports the entry of a batch the core refused, with the core diagnostics, and keeps the others', async () => {
      const observer = failureCollector();
      const summary = await runImport({
        core,
        plan: { first: [], rest: [join(FIXTURES, 'batch.json')] },
        observer,
      });
      expect(summary).toMatchObject({ resources: 1, failures: 1 });
      expect(observer.failures[0]).toMatchObject({ location: { entry: 1 } });
      expect(observer.failures[0]?.diagnostics).toContain('Patient.birthDate');
      expect(await store.read(ctx, 'Patient', 'import-batch-ok')).toMatchObject({ versionId: 1 });
      expect(await store.read(ctx, 'Patient', 'import-batch-bad')).toBeUndefined();
    });

    it('PUTs resources with ids, so importing the same file again adds no resource and no version', async () => {
      const plan = {
        first: [],
        rest: [join(FIXTURES, 'patient-with-id.json'), join(FIXTURES, 'collection.json')],
      };
      const first = await runImport({ core, plan, observer: failureCollector() });
      expect(first).toMatchObject({ files: 2, resources: 3, failures: 1 });
      await runImport({ core, plan, observer: failureCollector() });
      const patient = await store.read(ctx, 'Patient', 'import-fixture-patient');
      expect(patient?.json).toContain('Gonçalves');
      expect(await store.read(ctx, 'Organization', 'import-collection-org')).toBeDefined();
      // The second run found every resource unchanged: no new resource, no new version.
      const organizations = await store.history(ctx, { resourceType: 'Organization', count: 10 });
      expect(organizations.versions.map((version) => [version.id, version.versionId])).toEqual([
        ['import-collection-org', 1],
      ]);
      expect(patient?.versionId).toBe(1);
    });
  });
}
