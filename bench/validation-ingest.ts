/**
 * What validation on write costs Synthea ingest (issue 5: "validation adds ≤ 30% to the Synthea
 * ingest time"), measured in one process without HTTP, so that a busy machine affects both sides
 * alike: the same transaction Bundles are posted to the FHIR core of two servers on fresh
 * in-memory PGlite databases — one with CONCORDIA_VALIDATION=reject (the default), one with
 * `off` — alternating, round after round. Each round reports its ratio; the median is the figure.
 * The HTTP-level counterpart is `npm run bench -- ingest --without validation`.
 *
 *   node --import tsx bench/validation-ingest.ts [--bundles 8] [--rounds 3]
 *
 * Writes bench/results/<date>-validation-ingest.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { systemContext } from '../packages/server/src/access/request-context.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { buildComponents, openDatabase } from '../packages/server/src/main.ts';
import { createLogger } from '../packages/server/src/ops/logger.ts';
import { migrate } from '../packages/server/src/store/migrate.ts';
import { describeCommit, describeMachine } from './results.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index < 0 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

function syntheaBundles(count: number): Record<string, unknown>[] {
  const dir = join(repoRoot, '..', 'shared', 'data', 'synthea', 'smart-r4-2019');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json.gz'))
    .sort()
    .slice(0, count)
    .map(
      (file) =>
        JSON.parse(gunzipSync(readFileSync(join(dir, file))).toString('utf8')) as Record<string, unknown>,
    );
}

/**
 * Seconds to post `bundles`, in order, to a fresh server with `validation` as its policy, after
 * `warmup` (untimed): a server compiles each profile once in its life, on its first writes.
 */
async function ingestSeconds(
  warmup: Record<string, unknown>[],
  bundles: Record<string, unknown>[],
  validation: 'reject' | 'off',
): Promise<number> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONCORDIA_AUTH: 'insecure-demo',
    CONCORDIA_VALIDATION: validation,
  });
  const logger = createLogger(config);
  const database = await openDatabase(config, logger, { pgliteDataDir: 'memory://' });
  await migrate(database);
  const { core, store, audit } = await buildComponents(database, config, logger);
  const ctx = systemContext('bench');
  const post = async (bundle: Record<string, unknown>): Promise<void> => {
    const response = await core.handle(ctx, {
      method: 'POST',
      path: '',
      query: [],
      headers: { contentType: 'application/fhir+json' },
      body: bundle,
    });
    if (response.status !== 200)
      throw new Error(`a transaction answered ${response.status} (validation ${validation})`);
  };
  for (const bundle of warmup) await post(bundle);
  const start = performance.now();
  for (const bundle of bundles) await post(bundle);
  const seconds = (performance.now() - start) / 1000;
  await audit.close();
  await store.close();
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const [first, ...bundles] = syntheaBundles(option('bundles', 8) + 1);
  const warmup = first === undefined ? [] : [first];
  const rounds = option('rounds', 3);
  const resources = bundles.reduce((sum, b) => sum + (Array.isArray(b.entry) ? b.entry.length : 0), 0);
  // Reads what every server of the process shares (R4 definitions, value sets), outside the timing.
  await ingestSeconds([], warmup, 'reject');
  const perRound: { on: number; off: number; overhead: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so a trend in the machine's load favours neither.
    const first = round % 2 === 0 ? 'reject' : 'off';
    const a = await ingestSeconds(warmup, bundles, first);
    const b = await ingestSeconds(warmup, bundles, first === 'reject' ? 'off' : 'reject');
    const on = first === 'reject' ? a : b;
    const off = first === 'reject' ? b : a;
    perRound.push({ on, off, overhead: on / off - 1 });
    process.stderr.write(
      `round ${round + 1}: on ${on.toFixed(1)} s, off ${off.toFixed(1)} s, +${((on / off - 1) * 100).toFixed(1)}%\n`,
    );
  }
  const result = {
    date: new Date().toISOString().slice(0, 10),
    startedAt: new Date().toISOString(),
    machine: describeMachine(),
    commit: describeCommit(repoRoot),
    scenario: 'validation-ingest',
    description:
      'Synthea transaction ingest through the FHIR core on in-memory PGlite, validation reject vs off',
    bundles: bundles.length,
    resources,
    rounds: perRound.map((r) => ({
      onSeconds: round2(r.on),
      offSeconds: round2(r.off),
      overhead: round2(r.overhead, 3),
    })),
    medianOverhead: round2(median(perRound.map((r) => r.overhead)), 3),
    resourcesPerSecondOn: Math.round(resources / median(perRound.map((r) => r.on))),
    resourcesPerSecondOff: Math.round(resources / median(perRound.map((r) => r.off))),
  };
  const resultsDir = join(repoRoot, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const path = join(resultsDir, `${result.date}-validation-ingest.json`);
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${resources} resources in ${bundles.length} Bundles: validation adds ${(result.medianOverhead * 100).toFixed(1)}% to ingest time (median of ${rounds}); ${path}\n`,
  );
}

function round2(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

await main();
