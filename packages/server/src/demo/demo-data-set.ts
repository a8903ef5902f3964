/**
 * The demo data set `npm start` loads: the region's care providers and 25 patient records, the
 * same on every run. Kept small enough to load in seconds on PGlite, rich enough to try every
 * interaction and search against.
 */
import type { FhirResource } from '@concordia/fhir';
import { directoryResources } from './demo-directory.ts';
import { patientRecord } from './patient-record.ts';
import { PATIENT_NAMES, PLACES } from './people-catalogue.ts';
import { SeededRandom } from './seeded-random.ts';
import { TransactionBuilder } from './transaction-builder.ts';

export interface DemoDataSet {
  /** Organizations, Practitioners and PractitionerRoles with fixed ids; load it first. */
  directory: FhirResource;
  /** One transaction Bundle per patient. */
  patients: FhirResource[];
}

export const DEMO_SEED = 20_240_917;
/** The data set's "today": fixed, so that the data do not depend on the day they are generated. */
export const DEMO_AS_OF = new Date('2025-06-30T12:00:00Z');

export function demoDataSet(seed: number = DEMO_SEED): DemoDataSet {
  const random = new SeededRandom(seed);
  const directory = new TransactionBuilder(random);
  for (const resource of directoryResources()) directory.put(resource);
  const patients = PATIENT_NAMES.map((name, index) =>
    patientRecord(random, {
      name,
      place: PLACES[index % PLACES.length] ?? PLACES[0],
      asOf: DEMO_AS_OF,
      index,
    }),
  );
  return { directory: directory.bundle(), patients };
}
