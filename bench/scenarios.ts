/**
 * What each scenario sends, as plain data: the load worker runs in another process, so a scenario
 * cannot hand it closures. `{id}` in `pathTemplate` is replaced per request by a random seeded id.
 */
import type { ScenarioName } from './options.ts';

/** Which server answers: Concordia itself, or the floor (bare primary-key lookup, same Fastify). */
export type ServerKind = 'concordia' | 'floor';

export type RequestBody =
  /** No body (GET). */
  | { kind: 'none' }
  /** A new Patient per request (create). */
  | { kind: 'new-patient' }
  /** A Patient carrying the id of its URL (update). */
  | { kind: 'patient-with-id' };

export interface LoadPlan {
  method: 'GET' | 'POST' | 'PUT';
  pathTemplate: string;
  body: RequestBody;
  /** Seeded ids that `{id}` is drawn from. */
  ids: string[];
}

export interface Scenario {
  name: ScenarioName;
  server: ServerKind;
  description: string;
  plan(ids: string[]): LoadPlan;
}

const scenarios: Record<ScenarioName, Scenario> = {
  floor: {
    name: 'floor',
    server: 'floor',
    description: 'GET /fhir/Patient/{id} answered by a bare primary-key SELECT on the same Fastify',
    plan: (ids) => ({ method: 'GET', pathTemplate: '/fhir/Patient/{id}', body: { kind: 'none' }, ids }),
  },
  read: {
    name: 'read',
    server: 'concordia',
    description: 'read: GET /fhir/Patient/{id} (http.html#read)',
    plan: (ids) => ({ method: 'GET', pathTemplate: '/fhir/Patient/{id}', body: { kind: 'none' }, ids }),
  },
  vread: {
    name: 'vread',
    server: 'concordia',
    description: 'vread: GET /fhir/Patient/{id}/_history/1 (http.html#vread)',
    plan: (ids) => ({
      method: 'GET',
      pathTemplate: '/fhir/Patient/{id}/_history/1',
      body: { kind: 'none' },
      ids,
    }),
  },
  update: {
    name: 'update',
    server: 'concordia',
    description: 'update: PUT /fhir/Patient/{id} with a changed Patient (http.html#update)',
    plan: (ids) => ({
      method: 'PUT',
      pathTemplate: '/fhir/Patient/{id}',
      body: { kind: 'patient-with-id' },
      ids,
    }),
  },
  create: {
    name: 'create',
    server: 'concordia',
    description: 'create: POST /fhir/Patient, history and compartments written (http.html#create)',
    plan: () => ({ method: 'POST', pathTemplate: '/fhir/Patient', body: { kind: 'new-patient' }, ids: [] }),
  },
};

export function scenarioNamed(name: ScenarioName): Scenario {
  return scenarios[name];
}
