/**
 * Reads and writes `samples.json` beside a generated dataset. Reading checks the shape once, so a
 * manifest from an older generator (or a hand edit) fails here with a message, not mid-benchmark.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isJsonObject } from './json-value.ts';
import type { SearchSamples } from './search-samples.ts';

export function samplesPath(datasetDir: string): string {
  return join(datasetDir, 'samples.json');
}

export async function writeSearchSamples(datasetDir: string, samples: SearchSamples): Promise<void> {
  await writeFile(samplesPath(datasetDir), `${JSON.stringify(samples, null, 2)}\n`);
}

/** The manifest of a complete dataset, or undefined when there is none yet. */
export async function readSearchSamples(datasetDir: string): Promise<SearchSamples | undefined> {
  const text = await readFile(samplesPath(datasetDir), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const value: unknown = JSON.parse(text);
  if (!isSearchSamples(value))
    throw new Error(
      `${samplesPath(datasetDir)} is not a sample manifest; delete the dataset and generate it again`,
    );
  return value;
}

function isSearchSamples(value: unknown): value is SearchSamples {
  if (!isJsonObject(value)) return false;
  const strings = (item: unknown, keys: string[]): boolean =>
    isJsonObject(item) && keys.every((key) => typeof item[key] === 'string');
  const code = (item: unknown): boolean =>
    strings(item, ['system', 'code', 'display']) && isJsonObject(item) && typeof item.count === 'number';
  const all = (list: unknown, check: (item: unknown) => boolean): boolean =>
    Array.isArray(list) && list.every(check);
  return (
    typeof value.resources === 'number' &&
    typeof value.copies === 'number' &&
    isJsonObject(value.resourcesByType) &&
    Object.values(value.resourcesByType).every((count) => typeof count === 'number') &&
    all(
      value.patients,
      (item) =>
        strings(item, ['id', 'gender', 'birthDate', 'family']) &&
        isJsonObject(item) &&
        strings(item.identifier, ['system', 'value']),
    ) &&
    all(value.allergyPatientIds, (item) => typeof item === 'string') &&
    all(
      value.observations,
      (item) => strings(item, ['patientId', 'date']) && isJsonObject(item) && code(item.code),
    ) &&
    all(value.encounters, (item) => strings(item, ['patientId', 'date'])) &&
    all(
      value.familyStems,
      (item) => strings(item, ['stem']) && isJsonObject(item) && typeof item.count === 'number',
    ) &&
    all(value.observationCodes, code) &&
    all(value.conditionCodes, code)
  );
}
