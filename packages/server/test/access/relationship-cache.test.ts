/**
 * The relationships the access decision keeps per principal (access/relationship-snapshot.ts) are
 * never staler than the rules allow: a write committed through the store takes effect on the next
 * read, a transaction sees its own writes, and a write made by another node (another store on the
 * same database) takes effect once the kept relationships expire. Two real stores on one database,
 * the second standing for another node; a clock the test moves for the expiry.
 */
import { type FhirResource, indexResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessRowFilter } from '../../src/access/access-policy.ts';
import { type RequestContext, systemContext } from '../../src/access/request-context.ts';
import { parseScopes } from '../../src/access/smart-scopes.ts';
import type { Database } from '../../src/store/database.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { createResourceStore } from '../../src/store/resource-store.ts';
import { testDatabases } from '../support/databases.ts';
import { consent, declaration, observation } from './access-fixtures.ts';

const SYSTEM = systemContext('relationship-cache-test');
const TTL_MS = 60_000;

const doctor: RequestContext = {
  principal: {
    kind: 'user',
    id: 'doc-user',
    roles: ['family-doctor'],
    fhirUser: 'Practitioner/doc',
    organization: 'Organization/org-clinic',
    scopes: parseScopes('user/*.cruds'),
    clientId: 'test',
    expiresAt: Number.MAX_SAFE_INTEGER,
  },
  requestId: 'doctor',
};

describe.each(testDatabases())('kept relationships on $name', (database) => {
  let db: Database;
  let store: ResourceStore;
  let otherNode: ResourceStore;
  let clock = 0;

  const put = (on: ResourceStore, resources: readonly FhirResource[]) =>
    on.transact(SYSTEM, async (tx) => {
      for (const resource of resources) {
        await tx.apply(SYSTEM, {
          kind: 'write',
          method: 'PUT',
          resource: { ...resource, id: String(resource.id) },
        });
      }
    });
  const visible = async (on: ResourceStore, type: string, id: string) =>
    (await on.read(doctor, type, id)) !== undefined;
  const found = async (on: ResourceStore, type: string) =>
    (
      await on.search(doctor, {
        resourceTypes: [type],
        allTypes: false,
        filters: [],
        sort: [],
        count: 100,
        total: 'accurate',
        includes: [],
        includeLimit: 100,
      })
    ).total;

  beforeAll(async () => {
    db = await database.create();
    store = createResourceStore(db, indexResource, {
      rowFilter: createAccessRowFilter({ ttlMs: TTL_MS, now: () => clock }),
    });
    otherNode = createResourceStore(db, indexResource, {
      rowFilter: createAccessRowFilter({ ttlMs: TTL_MS, now: () => clock }),
    });
    await put(store, [
      { resourceType: 'Patient', id: 'pat-1' },
      { resourceType: 'Patient', id: 'pat-2' },
      declaration({ id: 'decl-1', patient: 'pat-1', practitioner: 'doc' }),
      observation({ id: 'obs-1', patient: 'pat-1' }),
      observation({ id: 'obs-2', patient: 'pat-2' }),
    ]);
  });
  afterAll(() => db.close());

  it('ends access the moment a declaration ends, and gives it back when it is active again', async () => {
    expect(await visible(store, 'Patient', 'pat-1')).toBe(true);
    expect(await visible(store, 'Observation', 'obs-1')).toBe(true);
    expect(await found(store, 'Observation')).toBe(1);
    await put(store, [
      declaration({ id: 'decl-1', patient: 'pat-1', practitioner: 'doc', status: 'finished' }),
    ]);
    expect(await visible(store, 'Patient', 'pat-1')).toBe(false);
    expect(await visible(store, 'Observation', 'obs-1')).toBe(false);
    expect(await found(store, 'Observation')).toBe(0);
    await put(store, [declaration({ id: 'decl-1', patient: 'pat-1', practitioner: 'doc' })]);
    expect(await visible(store, 'Patient', 'pat-1')).toBe(true);
    expect(await found(store, 'Observation')).toBe(1);
  });

  it('applies a Consent that denies the doctor at once, and lifts it when the Consent is deleted', async () => {
    expect(await visible(store, 'Observation', 'obs-1')).toBe(true);
    await put(store, [consent({ id: 'deny-1', patient: 'pat-1', actor: 'Practitioner/doc', type: 'deny' })]);
    expect(await visible(store, 'Patient', 'pat-1')).toBe(false);
    expect(await visible(store, 'Observation', 'obs-1')).toBe(false);
    expect(await found(store, 'Patient')).toBe(0);
    await store.transact(SYSTEM, (tx) =>
      tx.apply(SYSTEM, { kind: 'delete', resourceType: 'Consent', id: 'deny-1' }),
    );
    expect(await visible(store, 'Observation', 'obs-1')).toBe(true);
    expect(await found(store, 'Patient')).toBe(1);
  });

  it('lets a transaction read what its own new declaration reaches, before it commits', async () => {
    expect(await visible(store, 'Observation', 'obs-2')).toBe(false);
    const inside = await store.transact(SYSTEM, async (tx) => {
      await tx.apply(SYSTEM, {
        kind: 'write',
        method: 'PUT',
        resource: { ...declaration({ patient: 'pat-2', practitioner: 'doc' }), id: 'decl-2' },
      });
      return (await tx.read(doctor, 'Observation', 'obs-2')) !== undefined;
    });
    expect(inside).toBe(true);
    expect(await visible(store, 'Observation', 'obs-2')).toBe(true);
  });

  it('takes another node’s write into account once the kept relationships expire', async () => {
    expect(await visible(store, 'Patient', 'pat-2')).toBe(true);
    await put(otherNode, [
      declaration({ id: 'decl-2', patient: 'pat-2', practitioner: 'doc', status: 'cancelled' }),
    ]);
    // This node has not seen the write: it still holds the declaration for up to TTL_MS.
    expect(await visible(store, 'Patient', 'pat-2')).toBe(true);
    clock += TTL_MS;
    expect(await visible(store, 'Patient', 'pat-2')).toBe(false);
    expect(await visible(store, 'Observation', 'obs-2')).toBe(false);
  });
});
