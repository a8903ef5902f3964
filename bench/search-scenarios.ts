/**
 * The search scenarios of issue 3: each is a list of whole request paths built from the sample
 * manifest of the loaded dataset (search-samples.ts), one drawn at random per request, so every
 * query names ids, codes and names that exist. Opt-in: they need the generated dataset.
 */
import type { SearchSamples } from './search-samples.ts';

export const searchScenarioNames = [
  'search-name',
  'search-identifier',
  'search-birthdate-gender',
  'search-observation',
  'search-encounter',
  'search-allergy',
  'search-condition-below',
  'search-chain',
  'search-chain-2',
  'search-include',
  'search-revinclude',
  'everything',
] as const;
export type SearchScenarioName = (typeof searchScenarioNames)[number];

export interface SearchScenario {
  description: string;
  /** p99 target of the done-when, in ms. */
  p99TargetMs: number;
  /** 2xx/s target, where the issue sets one. */
  successesPerSecondTarget?: number;
  /** Why the scenario cannot pass yet, printed beside its verdict. */
  caveat?: string;
  queries(samples: SearchSamples): string[];
}

const commonP99Ms = 20;

export const searchScenarios: Record<SearchScenarioName, SearchScenario> = {
  'search-name': {
    description: 'GET /fhir/Patient?name=<common family name> (string, starts-with)',
    p99TargetMs: commonP99Ms,
    successesPerSecondTarget: 1_300,
    queries: (s) => s.familyStems.map(({ stem }) => fhir('Patient', { name: stem })),
  },
  'search-identifier': {
    description: 'GET /fhir/Patient?identifier=<system>|<value> (token)',
    p99TargetMs: commonP99Ms,
    queries: (s) =>
      s.patients.map((p) => fhir('Patient', { identifier: `${p.identifier.system}|${p.identifier.value}` })),
  },
  'search-birthdate-gender': {
    description: 'GET /fhir/Patient?birthdate=ge<date>&gender=female (date prefix + token)',
    p99TargetMs: commonP99Ms,
    queries: (s) =>
      s.patients.map((p) => fhir('Patient', { birthdate: `ge${p.birthDate}`, gender: 'female' })),
  },
  'search-observation': {
    description: 'GET /fhir/Observation?patient=<id>&code=<loinc>&date=ge<date>',
    p99TargetMs: commonP99Ms,
    queries: (s) =>
      s.observations.map((o) =>
        fhir('Observation', {
          patient: o.patientId,
          code: `${o.code.system}|${o.code.code}`,
          date: `ge${o.date}`,
        }),
      ),
  },
  'search-encounter': {
    description: 'GET /fhir/Encounter?patient=<id>&date=ge<date>',
    p99TargetMs: commonP99Ms,
    queries: (s) => s.encounters.map((e) => fhir('Encounter', { patient: e.patientId, date: `ge${e.date}` })),
  },
  'search-allergy': {
    description: 'GET /fhir/AllergyIntolerance?patient=<id> (the emergency view)',
    p99TargetMs: 10,
    queries: (s) => s.allergyPatientIds.map((id) => fhir('AllergyIntolerance', { patient: id })),
  },
  'search-condition-below': {
    description: 'GET /fhir/Condition?code:below=<snomed> (subsumption)',
    p99TargetMs: commonP99Ms,
    caveat: 'needs terminology: :below answers only once a terminology service exists',
    queries: (s) => s.conditionCodes.map((c) => fhir('Condition', { 'code:below': `${c.system}|${c.code}` })),
  },
  'search-chain': {
    description: 'GET /fhir/Observation?subject:Patient.name=<family>&code=<loinc> (chained)',
    p99TargetMs: commonP99Ms,
    queries: (s) =>
      s.familyStems.flatMap(({ stem }) =>
        s.observationCodes
          .slice(0, 5)
          .map((c) => fhir('Observation', { 'subject:Patient.name': stem, code: `${c.system}|${c.code}` })),
      ),
  },
  'search-chain-2': {
    description: 'GET /fhir/Observation?encounter.patient.name=<family>&code=<loinc> (two-level chain)',
    p99TargetMs: commonP99Ms,
    queries: (s) =>
      s.familyStems.flatMap(({ stem }) =>
        s.observationCodes
          .slice(0, 5)
          .map((c) => fhir('Observation', { 'encounter.patient.name': stem, code: `${c.system}|${c.code}` })),
      ),
  },
  'search-include': {
    description: 'GET /fhir/Encounter?patient=<id>&_include=Encounter:practitioner',
    p99TargetMs: commonP99Ms,
    queries: (s) =>
      s.encounters.map((e) =>
        fhir('Encounter', { patient: e.patientId, _include: 'Encounter:practitioner' }),
      ),
  },
  'search-revinclude': {
    description: 'GET /fhir/Patient?_id=<id>&_revinclude=Observation:patient',
    p99TargetMs: commonP99Ms,
    queries: (s) => s.patients.map((p) => fhir('Patient', { _id: p.id, _revinclude: 'Observation:patient' })),
  },
  everything: {
    description: 'GET /fhir/Patient/<id>/$everything (a whole chart, issue 4)',
    p99TargetMs: 100,
    queries: (s) => s.patients.map((p) => `/fhir/Patient/${p.id}/$everything`),
  },
};

export function isSearchScenario(name: string): name is SearchScenarioName {
  return searchScenarioNames.some((candidate) => candidate === name);
}

/** A search path with every value percent-encoded (`|` and `:` included), as a careful client sends it. */
function fhir(resourceType: string, parameters: Record<string, string>): string {
  const query = Object.entries(parameters)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  return `/fhir/${resourceType}?${query}`;
}
