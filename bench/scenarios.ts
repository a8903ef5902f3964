/**
 * What each scenario sends, as plain data: the load worker runs in another process, so a scenario
 * cannot hand it closures. `{id}` in `pathTemplate` is replaced per request by a random element of
 * `ids`: a seeded Patient id, or for the search scenarios a whole request path (`pathTemplate` is
 * then just `{id}`), so the worker needs no change to send a different query each time.
 */
import type { ScenarioName } from './options.ts';
import type { SearchSamples } from './search-samples.ts';
import { isSearchScenario, type SearchScenarioName, searchScenarios } from './search-scenarios.ts';
import {
  isTerminologyScenario,
  type TerminologySamples,
  type TerminologyScenarioName,
  terminologyScenarios,
} from './terminology-scenarios.ts';

/** Which server answers: Concordia itself, or the floor (bare primary-key lookup, same Fastify). */
export type ServerKind = 'concordia' | 'floor';

export type RequestBody =
  /** No body (GET). */
  | { kind: 'none' }
  /** A new Patient per request (create). */
  | { kind: 'new-patient' }
  /** A Patient carrying the id of its URL (update). */
  | { kind: 'patient-with-id' }
  /**
   * Synthea transaction Bundles read from these files (`.json` or `.json.gz`), sent in turn; their
   * entries POST with `urn:uuid:` references, so every send creates a new patient record.
   */
  | { kind: 'synthea-bundles'; files: string[] };

export interface LoadPlan {
  method: 'GET' | 'POST' | 'PUT';
  pathTemplate: string;
  body: RequestBody;
  /** What `{id}` is drawn from: seeded ids, or whole request paths. */
  ids: string[];
}

/** What a scenario builds its requests from. */
export interface PlanInputs {
  /** Patients the reads and updates draw from: seeded through the API, or sampled from the search dataset. */
  patientIds: string[];
  /** Sample manifest of the loaded Synthea dataset; undefined when no search scenario runs. */
  searchSamples: SearchSamples | undefined;
  /** Synthea transaction Bundle files the ingest scenario sends (synthea-bundles.ts). */
  syntheaBundles: string[];
  /** Codes and words of the imported ICD-10-CM; undefined when no terminology scenario runs. */
  terminologySamples?: TerminologySamples;
}

export interface Scenario {
  name: ScenarioName;
  server: ServerKind;
  description: string;
  plan(inputs: PlanInputs): LoadPlan;
}

const coreScenarios: Record<Exclude<ScenarioName, SearchScenarioName | TerminologyScenarioName>, Scenario> = {
  floor: {
    name: 'floor',
    server: 'floor',
    description: 'GET /fhir/Patient/{id} answered by a bare primary-key SELECT on the same Fastify',
    plan: ({ patientIds: ids }) => ({
      method: 'GET',
      pathTemplate: '/fhir/Patient/{id}',
      body: { kind: 'none' },
      ids,
    }),
  },
  read: {
    name: 'read',
    server: 'concordia',
    description: 'read: GET /fhir/Patient/{id} (http.html#read)',
    plan: ({ patientIds: ids }) => ({
      method: 'GET',
      pathTemplate: '/fhir/Patient/{id}',
      body: { kind: 'none' },
      ids,
    }),
  },
  vread: {
    name: 'vread',
    server: 'concordia',
    description: 'vread: GET /fhir/Patient/{id}/_history/1 (http.html#vread)',
    plan: ({ patientIds: ids }) => ({
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
    plan: ({ patientIds: ids }) => ({
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
  ingest: {
    name: 'ingest',
    server: 'concordia',
    description: 'ingest: POST /fhir with Synthea patient transaction Bundles (http.html#transaction)',
    plan: ({ syntheaBundles }) => {
      if (syntheaBundles.length === 0)
        throw new Error('ingest needs Synthea bundles (../shared/data/synthea)');
      return {
        method: 'POST',
        pathTemplate: '/fhir',
        body: { kind: 'synthea-bundles', files: syntheaBundles },
        ids: [],
      };
    },
  },
};

function searchScenario(name: SearchScenarioName): Scenario {
  const search = searchScenarios[name];
  return {
    name,
    server: 'concordia',
    description: search.description,
    plan: ({ searchSamples }) => {
      if (searchSamples === undefined) throw new Error(`${name} needs the search dataset loaded first`);
      const paths = search.queries(searchSamples);
      if (paths.length === 0)
        throw new Error(`${name}: the dataset's sample manifest has nothing to query with`);
      return { method: 'GET', pathTemplate: '{id}', body: { kind: 'none' }, ids: paths };
    },
  };
}

function terminologyScenario(name: TerminologyScenarioName): Scenario {
  const scenario = terminologyScenarios[name];
  return {
    name,
    server: 'concordia',
    description: scenario.description,
    plan: ({ terminologySamples }) => {
      if (terminologySamples === undefined) throw new Error(`${name} needs ICD-10-CM imported first`);
      return {
        method: 'GET',
        pathTemplate: '{id}',
        body: { kind: 'none' },
        ids: scenario.queries(terminologySamples),
      };
    },
  };
}

export function scenarioNamed(name: ScenarioName): Scenario {
  if (isTerminologyScenario(name)) return terminologyScenario(name);
  return isSearchScenario(name) ? searchScenario(name) : coreScenarios[name];
}
