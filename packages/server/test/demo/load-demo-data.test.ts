import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import { loadDemoData } from '../../src/demo/load-demo-data.ts';
import type { FhirCore } from '../../src/fhir/interaction.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { testDatabases } from '../support/databases.ts';
import { createTestCore } from '../support/test-core.ts';

for (const database of testDatabases()) {
  describe(`loadDemoData on ${database.name}`, () => {
    let store: ResourceStore;
    let core: FhirCore;
    beforeAll(async () => {
      ({ store, core } = await createTestCore(database));
    });
    afterAll(async () => {
      await store?.close();
    });

    it('loads the directory and 25 patient records through the core into an empty database', async () => {
      const result = await loadDemoData(core, store);
      expect(result).toMatchObject({ loaded: true, patients: 25, resources: 558 });
      const ctx = systemContext('test');
      expect(await store.read(ctx, 'Organization', 'demo-hospital')).toMatchObject({ versionId: 1 });
      const patients = await store.history(ctx, { resourceType: 'Patient', count: 100 });
      expect(patients.versions).toHaveLength(25);
    });

    it('loads nothing into a database that already holds data', async () => {
      expect(await loadDemoData(core, store)).toEqual({ loaded: false, reason: 'database-not-empty' });
      const patients = await store.history(systemContext('test'), { resourceType: 'Patient', count: 100 });
      expect(patients.versions).toHaveLength(25);
    });
  });
}
