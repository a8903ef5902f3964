/**
 * The search benchmark's data: generated from the Synthea sample when missing (synthea-dataset.ts),
 * then loaded into the run's scratch database through Concordia's own importer, exactly as an
 * operator would (`concordia import`), so the rows, history and search index are those of real
 * writes. The load's resources/s is the ingest figure of the run.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchDatabase } from './database.ts';
import type { DatasetLoad } from './dataset-load.ts';
import type { SearchSamples } from './search-samples.ts';
import { readSearchSamples } from './search-samples-file.ts';
import { multiplySynthea, ndjsonDirectory } from './synthea-dataset.ts';

export type { DatasetLoad } from './dataset-load.ts';

export interface Dataset {
  dir: string;
  samples: SearchSamples;
  /** Set when this run generated the data. */
  generation?: { seconds: number; resourcesPerSecond: number };
}

export function syntheaSourceDir(repoRoot: string): string {
  return join(repoRoot, '..', 'shared', 'data', 'synthea', 'smart-r4-2019');
}

/** `bench/data/` is ignored by the repository's `.gitignore` (`data/`). */
export function defaultDatasetDir(repoRoot: string, resources: number): string {
  return join(repoRoot, 'bench', 'data', `synthea-${resources}`);
}

export async function ensureSyntheaDataset(repoRoot: string, resources: number): Promise<Dataset> {
  const dir = defaultDatasetDir(repoRoot, resources);
  const existing = await readSearchSamples(dir);
  if (existing !== undefined && existing.resources === resources) {
    console.log(`Using the dataset in ${dir} (${resources} resources).`);
    return { dir, samples: existing };
  }
  console.log(`Generating ${resources} resources from the Synthea sample into ${dir} …`);
  const result = await multiplySynthea({
    sourceDir: syntheaSourceDir(repoRoot),
    outputDir: dir,
    resources,
    onProgress: ({ written, target, seconds }) =>
      process.stdout.write(`\r  ${written}/${target} resources, ${(written / seconds).toFixed(0)}/s   `),
  });
  const resourcesPerSecond = result.samples.resources / result.seconds;
  console.log(
    `\nGenerated ${result.samples.resources} resources in ${result.seconds.toFixed(1)} s (${resourcesPerSecond.toFixed(0)}/s).`,
  );
  return { dir, samples: result.samples, generation: { seconds: result.seconds, resourcesPerSecond } };
}

/**
 * Runs `cli.ts import <dataset>/ndjson` against the scratch database. The server must not be
 * running on PGlite meanwhile (one process owns its files); the runner loads before it starts one.
 */
export async function importDataset(
  repoRoot: string,
  database: BenchDatabase,
  dataset: Dataset,
): Promise<DatasetLoad> {
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'packages', 'server', 'src', 'cli.ts'),
      'import',
      ndjsonDirectory(dataset.dir),
    ],
    {
      cwd: repoRoot,
      env: {
        ...inherited,
        CONCORDIA_DATA_DIR: database.dataDir,
        LOG_LEVEL: 'warn',
        ...(database.databaseUrl !== undefined ? { DATABASE_URL: database.databaseUrl } : {}),
      },
      // The importer's progress goes to stderr and is shown as it comes; stdout is its summary.
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let summary = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    summary += chunk;
  });
  const [code] = await new Promise<[number | null]>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolveExit([exitCode]));
  });
  const load = parseImportSummary(summary);
  if (load === undefined)
    throw new Error(`concordia import exited with ${code} without a summary: ${summary.trim()}`);
  console.log(summary.trim());
  return load;
}

/** `Imported 50000 resources from 208 files in 61.2 s (817 resources/s); 0 failures.` */
function parseImportSummary(text: string): DatasetLoad | undefined {
  const match =
    /Imported (\d+) resources from \d+ files in ([\d.]+) s \((\d+) resources\/s\); (\d+) failure/.exec(text);
  if (match === null) return undefined;
  const [, resources, seconds, rate, failures] = match;
  return {
    resources: Number(resources),
    seconds: Number(seconds),
    resourcesPerSecond: Number(rate),
    failures: Number(failures),
  };
}
