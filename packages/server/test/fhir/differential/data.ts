/**
 * The data of the differential search test: real Synthea patient Bundles (../shared/data/synthea,
 * 2019 SMART set, `urn:uuid:` references) plus a few resources Synthea lacks, so that every
 * parameter type has values: RiskAssessments (number), ValueSets (uri), Patients with accents.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FhirResource } from '@concordia/fhir';
import type { SeededRandom } from '../../support/reference-search/seeded-random.ts';

/** The first `count` patient transaction Bundles of the set, by file name. */
export function syntheaBundles(directory: string, count: number): unknown[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.json.gz'))
    .sort()
    .slice(0, count)
    .map((name) => JSON.parse(gunzipSync(readFileSync(join(directory, name))).toString('utf8')));
}

/** A transaction Bundle that POSTs `resources`, letting them refer to each other by `urn:uuid:`. */
export function transactionOf(resources: readonly { fullUrl: string; resource: FhirResource }[]): unknown {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map(({ fullUrl, resource }) => ({
      fullUrl,
      resource,
      request: { method: 'POST', url: resource.resourceType },
    })),
  };
}

const ACCENTED_NAMES: [string, string][] = [
  ['Émile', 'Zoë'],
  ['ÅSA', 'Ørsted'],
  ['José', 'Muñoz'],
  ['Łukasz', 'Dvořák'],
  ['Ángel', 'Ibáñez'],
  ['Çağla', 'Öztürk'],
  ['Hélène', 'Le Brun'],
  ['Søren', 'Kierkegård'],
];

const VALUE_SET_BASES = [
  'http://acme.example/fhir/ValueSet/',
  'http://acme.example/terms/',
  'urn:oid:2.16.840.',
];

/**
 * One Bundle of resources the Synthea sample lacks: Patients with accented and mixed-case names,
 * RiskAssessments with decimal and integer probabilities of varied precision about them, and
 * ValueSets with urls under a few shared prefixes.
 */
export function supplementBundle(random: SeededRandom): unknown {
  const entries: { fullUrl: string; resource: FhirResource }[] = [];
  ACCENTED_NAMES.forEach(([given, family], index) => {
    entries.push({
      fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      resource: {
        resourceType: 'Patient',
        name: [{ family, given: [given] }],
        gender: index % 2 === 0 ? 'female' : 'male',
        birthDate: `19${50 + index}-0${1 + (index % 9)}-1${index}`,
      },
    });
  });
  for (let index = 0; index < 120; index++) {
    const patient = entries[index % ACCENTED_NAMES.length]?.fullUrl ?? '';
    entries.push({
      fullUrl: `urn:uuid:00000000-0000-4000-9000-${String(index).padStart(12, '0')}`,
      resource: {
        resourceType: 'RiskAssessment',
        status: 'final',
        subject: { reference: patient },
        occurrenceDateTime: `20${10 + (index % 12)}-0${1 + (index % 9)}-2${index % 8}`,
        prediction: [{ probabilityDecimal: probability(random) }],
      },
    });
  }
  for (let index = 0; index < 60; index++) {
    const base = random.pickFrom(VALUE_SET_BASES);
    const path = base.startsWith('urn:')
      ? `${random.integer(1, 9)}.${random.integer(1, 99)}`
      : `vs-${random.integer(1, 40)}`;
    entries.push({
      fullUrl: `urn:uuid:00000000-0000-4000-a000-${String(index).padStart(12, '0')}`,
      resource: {
        resourceType: 'ValueSet',
        status: 'active',
        url: `${base}${path}`,
        name: `ValueSet${index}`,
      },
    });
  }
  return transactionOf(entries);
}

/** Probabilities written at 0–3 decimals, some integers, so implied precision matters. */
function probability(random: SeededRandom): number {
  const decimals = random.integer(0, 3);
  const scale = 10 ** decimals;
  return Math.round(random.next() * scale) / scale;
}
