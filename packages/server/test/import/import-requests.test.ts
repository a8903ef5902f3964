import { describe, expect, it } from 'vitest';
import { importUnits } from '../../src/import/import-requests.ts';

const at = { file: 'x.json' };

describe('importUnits', () => {
  it('PUTs a resource that has an id, so a second import updates instead of duplicating', () => {
    const [unit] = importUnits({ resourceType: 'Patient', id: 'p1' }, at);
    expect(unit).toMatchObject({ kind: 'resource', request: { method: 'PUT', path: 'Patient/p1' } });
  });

  it('POSTs a resource without an id to its type', () => {
    const [unit] = importUnits({ resourceType: 'Observation', status: 'final' }, at);
    expect(unit).toMatchObject({ kind: 'resource', request: { method: 'POST', path: 'Observation' } });
  });

  it.each(['transaction', 'batch'])('posts a %s Bundle to the base as it is', (type) => {
    const bundle = { resourceType: 'Bundle', type, entry: [{}, {}, {}] };
    const [unit] = importUnits(bundle, at);
    expect(unit).toMatchObject({
      kind: 'bundle',
      bundleType: type,
      entryCount: 3,
      request: { method: 'POST', path: '' },
    });
    expect(unit?.kind === 'bundle' ? unit.request.body : undefined).toBe(bundle);
  });

  it('imports each entry.resource of any other Bundle on its own, remembering the entry index', () => {
    const units = importUnits(
      {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: 'Patient', id: 'a' } }, { fullUrl: 'urn:uuid:1' }],
      },
      at,
    );
    expect(units).toMatchObject([
      { kind: 'resource', location: { entry: 0 }, request: { method: 'PUT', path: 'Patient/a' } },
      { kind: 'rejected', location: { entry: 1 }, reason: 'the entry has no resource' },
    ]);
  });

  it.each([
    [[1, 2], 'not a JSON object'],
    [{ id: 'x' }, 'no resourceType'],
    [{ resourceType: '../metadata' }, 'is not a resource type'],
    [{ resourceType: 'Patient', id: 'a/b' }, 'is not a valid FHIR id'],
  ])('rejects %j with a reason instead of sending it', (value, reason) => {
    const [unit] = importUnits(value, at);
    expect(unit).toMatchObject({ kind: 'rejected', reason: expect.stringContaining(reason) });
  });
});
