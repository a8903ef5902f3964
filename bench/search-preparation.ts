/**
 * What a run does before measuring search scenarios: make sure the dataset exists and load it into
 * the scratch database (load-data.ts), then probe each scenario once (search-probe.ts).
 */
import type { BenchDatabase } from './database.ts';
import {
  readDatasetMarker,
  recreateDatabase,
  samplesDigest,
  writeDatasetMarker,
} from './dataset-database.ts';
import { type Dataset, type DatasetLoad, ensureSyntheaDataset, importDataset } from './load-data.ts';
import type { ScenarioName } from './options.ts';
import { type PlanInputs, scenarioNamed } from './scenarios.ts';
import { describeProbe, probeSearch, type SearchProbe } from './search-probe.ts';
import { isSearchScenario } from './search-scenarios.ts';

export interface LoadedSearchDataset {
  dataset: Dataset;
  load: DatasetLoad;
  /** When the load was reused from a `--dataset-db`: when that load finished. */
  reusedFrom?: string;
}

/** What the results files record about the dataset: where, how big, how fast it was made and loaded. */
export interface SearchDatasetSummary {
  dir: string;
  resources: number;
  copies: number;
  generation: Dataset['generation'] | null;
  load: DatasetLoad;
  reusedFrom: string | null;
}

export async function loadSearchDataset(
  repoRoot: string,
  resources: number,
  database: BenchDatabase,
  sourceUrl: string | undefined,
): Promise<LoadedSearchDataset> {
  const dataset = await ensureSyntheaDataset(repoRoot, resources);
  const kept = database.datasetDatabase;
  const digest = kept === undefined ? undefined : await samplesDigest(dataset.dir);
  if (kept !== undefined && database.databaseUrl !== undefined && sourceUrl !== undefined) {
    const marker = await readDatasetMarker(database.databaseUrl);
    if (marker?.resources === dataset.samples.resources && marker.samplesDigest === digest) {
      console.log(`Reusing the dataset loaded into ${kept} at ${marker.loadedAt}.`);
      return { dataset, load: marker.load, reusedFrom: marker.loadedAt };
    }
    if (marker !== undefined) console.log(`${kept} holds another dataset; loading it again.`);
    await recreateDatabase(sourceUrl, kept);
  }
  console.log(`Loading ${dataset.samples.resources} resources through concordia import …`);
  const load = await importDataset(repoRoot, database, dataset);
  if (load.failures > 0) console.warn(`!! ${load.failures} resources failed to import; searches see fewer.`);
  if (kept !== undefined && database.databaseUrl !== undefined && digest !== undefined) {
    await writeDatasetMarker(database.databaseUrl, {
      resources: dataset.samples.resources,
      samplesDigest: digest,
      loadedAt: new Date().toISOString(),
      load,
    });
  }
  return { dataset, load };
}

export function searchDatasetSummary({
  dataset,
  load,
  reusedFrom,
}: LoadedSearchDataset): SearchDatasetSummary {
  return {
    reusedFrom: reusedFrom ?? null,
    dir: dataset.dir,
    resources: dataset.samples.resources,
    copies: dataset.samples.copies,
    generation: dataset.generation ?? null,
    load,
  };
}

/** One full answer per search scenario, printed, so that a 200 which ignored a parameter is seen. */
export async function probeSearchScenarios(
  baseUrl: string,
  scenarios: readonly ScenarioName[],
  inputs: PlanInputs,
): Promise<Map<ScenarioName, SearchProbe>> {
  const probes = new Map<ScenarioName, SearchProbe>();
  for (const name of scenarios.filter(isSearchScenario)) {
    const path = scenarioNamed(name).plan(inputs).ids[0];
    if (path === undefined) continue;
    const answer = await probeSearch(baseUrl, path);
    probes.set(name, answer);
    console.log(`  probe ${name.padEnd(23)} ${path}\n        → ${describeProbe(answer)}`);
  }
  return probes;
}
