/**
 * Routing and parameters of extended operations (http://hl7.org/fhir/R4/operations.html), without
 * a database: the router must find `$name` at the level it is registered for and nowhere else.
 */
import { FhirError, isResourceType } from '@concordia/fhir';
import { describe, expect, it } from 'vitest';
import type { FhirMethod, FhirRequest } from '../../src/fhir/interaction.ts';
import type { InteractionHandler } from '../../src/fhir/interaction-env.ts';
import { type FhirOperation, operationParameters, singleParameter } from '../../src/fhir/operations.ts';
import { createRouter, type Handlers } from '../../src/fhir/routes.ts';

const unused: InteractionHandler = async () => {
  throw new Error('not under test');
};
const named =
  (name: string): InteractionHandler =>
  async () => ({ status: 200, interaction: 'operation', body: { kind: 'json', json: JSON.stringify(name) } });

const everything: FhirOperation = {
  name: 'everything',
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  type: ['Patient'],
  instance: ['Patient'],
  methods: ['GET', 'POST'],
  handler: named('everything'),
};
const reindex: FhirOperation = {
  name: 'reindex',
  definition: 'http://concordia.example/OperationDefinition/reindex',
  system: true,
  type: '*',
  methods: ['POST'],
  handler: named('reindex'),
};

const handlers: Handlers = {
  read: unused,
  vread: unused,
  create: unused,
  update: unused,
  patch: unused,
  delete: unused,
  history: unused,
  search: unused,
  compartmentSearch: unused,
  capabilities: unused,
  bundle: unused,
  operations: [everything, reindex],
};
const resolve = createRouter(handlers, isResourceType);

function request(method: FhirMethod, path: string): FhirRequest {
  return { method, path, query: [], headers: {} };
}

function failure(run: () => unknown): FhirError {
  try {
    run();
  } catch (error) {
    if (error instanceof FhirError) return error;
    throw error;
  }
  throw new Error('expected a FhirError');
}

describe('operation routing (operations.html#invocation)', () => {
  it('finds an operation at each level it is registered for, with the routed type and id', () => {
    const instance = resolve(request('GET', 'Patient/p1/$everything'));
    expect(instance.route.interaction).toBe('operation');
    expect(instance.routed).toMatchObject({ resourceType: 'Patient', id: 'p1' });
    expect(resolve(request('POST', 'Patient/$everything')).routed).toMatchObject({ resourceType: 'Patient' });
    expect(resolve(request('POST', '$reindex')).route.interaction).toBe('operation');
    expect(resolve(request('POST', 'Observation/$reindex')).routed).toMatchObject({
      resourceType: 'Observation',
    });
  });

  it('answers 501 for an operation not registered at that level or type', async () => {
    for (const [method, path] of [
      ['GET', 'Observation/o1/$everything'],
      ['POST', 'Patient/p1/$reindex'],
      ['POST', '$everything'],
      ['POST', '$unknown'],
    ] as const) {
      const { route, routed } = resolve(request(method, path));
      const error = await route.handler(routed, {} as never).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FhirError);
      expect((error as FhirError).status).toBe(501);
    }
  });

  it('answers 405 for a method the operation does not accept (operations.html#request)', () => {
    const error = failure(() => resolve(request('GET', '$reindex')));
    expect(error.status).toBe(405);
    expect(error.toOperationOutcome().issue[0]?.diagnostics).toContain('allowed: POST');
  });
});

describe('operation parameters (operations.html#request)', () => {
  it('reads query values and primitive and resource Parameters entries, in order', () => {
    const parameters = operationParameters([['_count', '10']], {
      resourceType: 'Parameters',
      parameter: [
        { name: '_since', valueInstant: '2026-01-01T00:00:00Z' },
        { name: 'flag', valueBoolean: true },
        { name: 'resource', resource: { resourceType: 'Patient' } },
      ],
    });
    expect(parameters.map((p) => [p.name, p.value])).toEqual([
      ['_count', '10'],
      ['_since', '2026-01-01T00:00:00Z'],
      ['flag', 'true'],
      ['resource', undefined],
    ]);
    expect(parameters[3]?.resource).toEqual({ resourceType: 'Patient' });
    expect(singleParameter(parameters, '_since')).toBe('2026-01-01T00:00:00Z');
    expect(singleParameter(parameters, 'absent')).toBeUndefined();
  });

  it('refuses a body that is not Parameters, an unnamed parameter, and a repeated single parameter', () => {
    expect(failure(() => operationParameters([], { resourceType: 'Patient' })).status).toBe(400);
    const unnamed = failure(() =>
      operationParameters([], { resourceType: 'Parameters', parameter: [{ valueString: 'x' }] }),
    );
    expect(unnamed.toOperationOutcome().issue[0]?.expression).toEqual(['Parameters.parameter[0].name']);
    const twice = operationParameters(
      [
        ['_since', 'a'],
        ['_since', 'b'],
      ],
      undefined,
    );
    expect(failure(() => singleParameter(twice, '_since')).status).toBe(400);
  });
});
