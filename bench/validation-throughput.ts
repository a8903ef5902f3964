/**
 * Validations per second on Synthea resources (issue 5), in this process, no HTTP: the structural
 * pass alone (what every write had before) against the full validation of a write (structure,
 * base definition, meta.profile, invariants, bindings to the spec's value sets). Interleaved
 * rounds; each figure is the median. Writes bench/results/<date>-validation-throughput.json.
 *
 *   node --import tsx bench/validation-throughput.ts [--bundles 40] [--rounds 5]
 *
 * The ingest cost on a real server is measured by `npm run bench -- ingest --without validation`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import {
  type FhirResource,
  ResourceValidator,
  r4ProfileRegistry,
  r4ValueSets,
  validateResourceStructure,
} from '@concordia/fhir';
import { describeCommit, describeMachine } from './results.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index < 0 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

function syntheaResources(bundles: number): FhirResource[] {
  const dir = join(repoRoot, '..', 'shared', 'data', 'synthea', 'smart-r4-2019');
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.json.gz'))
    .sort()
    .slice(0, bundles);
  return files.flatMap((file) => {
    const bundle = JSON.parse(gunzipSync(readFileSync(join(dir, file))).toString('utf8')) as {
      entry?: { resource: FhirResource }[];
    };
    return (bundle.entry ?? []).map((entry) => entry.resource);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const bundles = option('bundles', 40);
  const rounds = option('rounds', 5);
  const resources = syntheaResources(bundles);
  const loadStart = performance.now();
  const validator = new ResourceValidator({ registry: r4ProfileRegistry(), bindings: r4ValueSets() });
  // Compiles the profiles and value sets the data needs (what a server does on its first writes).
  let errors = 0;
  for (const resource of resources) {
    errors += (await validator.validate(resource)).filter((issue) => issue.severity === 'error').length;
  }
  const warmupSeconds = (performance.now() - loadStart) / 1000;
  const structureRates: number[] = [];
  const fullRates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let start = performance.now();
    for (const resource of resources) validateResourceStructure(resource);
    structureRates.push(resources.length / ((performance.now() - start) / 1000));
    start = performance.now();
    for (const resource of resources) await validator.validate(resource);
    fullRates.push(resources.length / ((performance.now() - start) / 1000));
  }
  const result = {
    date: new Date().toISOString().slice(0, 10),
    startedAt: new Date().toISOString(),
    machine: describeMachine(),
    commit: describeCommit(repoRoot),
    scenario: 'validation-throughput',
    description: 'validations/s of Synthea resources (smart-r4-2019), structural pass vs full validation',
    resources: resources.length,
    bundles,
    rounds,
    errorsFound: errors,
    firstPassSeconds: Math.round(warmupSeconds * 100) / 100,
    structureValidationsPerSecond: Math.round(median(structureRates)),
    fullValidationsPerSecond: Math.round(median(fullRates)),
    microsecondsPerResource: Math.round(1e6 / median(fullRates)),
    roundRates: { structure: structureRates.map(Math.round), full: fullRates.map(Math.round) },
  };
  const resultsDir = join(repoRoot, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const path = join(resultsDir, `${result.date}-validation-throughput.json`);
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${resources.length} resources: structure ${result.structureValidationsPerSecond}/s, full ${result.fullValidationsPerSecond}/s (${result.microsecondsPerResource} µs each), ${errors} errors; ${path}\n`,
  );
}

await main();
