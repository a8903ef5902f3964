/**
 * `npm run bench -- export`: system-level bulk `$export` (https://hl7.org/fhir/uv/bulkdata/export.html)
 * of the Synthea-derived dataset (load-data.ts), measured from the kick-off to the complete
 * manifest over HTTP, against a baseline measured in the same run on the same database through the
 * same driver (`pg`): `COPY (select content from resource where not deleted) TO STDOUT`, the
 * fastest way PostgreSQL can hand over the stored JSON. The ratio of the two says how much of the
 * export's time is Concordia's own; the absolute rate is read against the target
 * (≥ 30,000 resources/s, PostgreSQL, 2 cores). Usage: bench/README.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type BenchDatabase, prepareDatabase } from './database.ts';
import { describeCommit, describeMachine } from './results.ts';
import { loadSearchDataset, searchDatasetSummary } from './search-preparation.ts';
import { startServer } from './server-process.ts';

const TARGET_RESOURCES_PER_SECOND = 30_000;

export const exportUsage = `Usage: npm run bench -- export [options]

Loads the Synthea-derived dataset (as the search scenarios do), then per round measures the
bare COPY baseline (PostgreSQL only) and a system-level $export, kick-off to complete manifest.

Options:
  --resources <n>      resources in the dataset (default 100000)
  --dataset-db <name>  PostgreSQL only: keep the loaded dataset in this database and reuse it
  --rounds <n>         rounds (default 3); the median is reported
  --page-size <n>      CONCORDIA_EXPORT_PAGE_SIZE of the server (default: the server's)
  --keep-data          keep the scratch database, export files and server log`;

interface ExportRound {
  resources: number;
  bytes: number;
  seconds: number;
  resourcesPerSecond: number;
  megabytesPerSecond: number;
  /** 1-minute load average when the round ended. */
  loadAverage: number;
  baseline?: { resources: number; bytes: number; seconds: number; resourcesPerSecond: number };
  ratioToBaseline?: number;
}

export async function runExportBench(repoRoot: string, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      resources: { type: 'string', default: '100000' },
      'dataset-db': { type: 'string' },
      rounds: { type: 'string', default: '3' },
      'page-size': { type: 'string' },
      'keep-data': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(exportUsage);
    return 0;
  }
  const resources = wholeNumber('--resources', values.resources);
  const rounds = wholeNumber('--rounds', values.rounds);
  const pageSize =
    values['page-size'] === undefined ? undefined : wholeNumber('--page-size', values['page-size']);
  const keepData = values['keep-data'];
  const sourceUrl = process.env.DATABASE_URL?.trim() || undefined;
  const workDir = await mkdtemp(join(tmpdir(), 'concordia-bench-export-'));
  const database = await prepareDatabase({
    sourceUrl,
    dataDir: join(workDir, 'data'),
    keepData,
    repoRoot,
    ...(values['dataset-db'] !== undefined ? { datasetDatabase: values['dataset-db'] } : {}),
  });
  try {
    const machine = describeMachine();
    console.log(
      `Concordia export bench: ${database.version}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}`,
    );
    const loaded = await loadSearchDataset(repoRoot, resources, database, sourceUrl);
    const server = await startServer(
      'concordia',
      { repoRoot, database, logLevel: 'warn', workDir },
      {
        CONCORDIA_EXPORT_DIR: join(workDir, 'exports'),
        ...(pageSize !== undefined ? { CONCORDIA_EXPORT_PAGE_SIZE: String(pageSize) } : {}),
      },
    );
    const measured: ExportRound[] = [];
    try {
      for (let round = 1; round <= rounds; round++) {
        const baseline = await copyBaseline(database);
        const run = await systemExport(server.baseUrl);
        const result: ExportRound = {
          ...run,
          resourcesPerSecond: run.resources / run.seconds,
          megabytesPerSecond: run.bytes / 1e6 / run.seconds,
          loadAverage: loadavg()[0] ?? 0,
          ...(baseline !== undefined
            ? {
                baseline: { ...baseline, resourcesPerSecond: baseline.resources / baseline.seconds },
                ratioToBaseline: run.resources / run.seconds / (baseline.resources / baseline.seconds),
              }
            : {}),
        };
        measured.push(result);
        console.log(
          `  round ${round}/${rounds}: $export ${result.resources} resources, ${(result.bytes / 1e6).toFixed(1)} MB in ${result.seconds.toFixed(2)} s = ` +
            `${result.resourcesPerSecond.toFixed(0)} resources/s, ${result.megabytesPerSecond.toFixed(1)} MB/s` +
            (result.baseline === undefined
              ? ''
              : `; COPY ${result.baseline.resourcesPerSecond.toFixed(0)} resources/s (export = ${((result.ratioToBaseline ?? 0) * 100).toFixed(0)}% of it)`) +
            `; load ${result.loadAverage.toFixed(1)}`,
        );
      }
    } finally {
      await server.stop();
    }
    const median = [...measured].sort((a, b) => a.resourcesPerSecond - b.resourcesPerSecond)[
      Math.floor((measured.length - 1) / 2)
    ];
    const verdict =
      median === undefined
        ? 'NOT MEASURED'
        : database.kind !== 'postgresql' || machine.cpus !== 2
          ? `${median.resourcesPerSecond.toFixed(0)} resources/s (target defined for PostgreSQL on 2 cores)`
          : `${median.resourcesPerSecond.toFixed(0)} resources/s: ${median.resourcesPerSecond >= TARGET_RESOURCES_PER_SECOND ? 'MET' : 'MISSED'} (target ≥ ${TARGET_RESOURCES_PER_SECOND})`;
    console.log(`\nSystem $export, median of ${measured.length}: ${verdict}`);
    const startedAt = new Date();
    const path = join(repoRoot, 'bench', 'results', `${startedAt.toISOString().slice(0, 10)}-export.json`);
    await writeFile(
      path,
      `${JSON.stringify(
        {
          scenario: 'export',
          startedAt: startedAt.toISOString(),
          machine,
          database: { kind: database.kind, version: database.version },
          commit: describeCommit(repoRoot),
          settings: { resources, rounds, pageSize: pageSize ?? null },
          dataset: searchDatasetSummary(loaded),
          median: median ?? null,
          rounds: measured,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`Results: ${path.slice(repoRoot.length + 1)}`);
    return 0;
  } finally {
    await database.dispose();
    if (keepData) console.log(`Kept logs, data and export files in ${workDir}.`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

/** Kick-off, status polls until the manifest, then every file downloaded (its bytes counted). */
async function systemExport(baseUrl: string): Promise<{ resources: number; bytes: number; seconds: number }> {
  const started = performance.now();
  const kickOff = await fetch(`${baseUrl}/fhir/$export`, {
    headers: { accept: 'application/fhir+json', prefer: 'respond-async' },
  });
  const statusUrl = kickOff.headers.get('content-location');
  if (kickOff.status !== 202 || statusUrl === null) {
    throw new Error(`$export kick-off answered ${kickOff.status}: ${await kickOff.text()}`);
  }
  await kickOff.arrayBuffer();
  let manifest: unknown;
  for (;;) {
    const status = await fetch(statusUrl, { headers: { accept: 'application/json' } });
    if (status.status === 200) {
      manifest = await status.json();
      break;
    }
    const body = await status.text();
    if (status.status !== 202) throw new Error(`export status answered ${status.status}: ${body}`);
    // Polled far more often than Retry-After asks, so that the figure is the export's, not the wait's.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const output = outputOf(manifest);
  let bytes = 0;
  for (const file of output) {
    const answer = await fetch(file.url, { headers: { accept: 'application/fhir+ndjson' } });
    if (answer.status !== 200) throw new Error(`${file.url} answered ${answer.status}`);
    bytes += (await answer.arrayBuffer()).byteLength;
  }
  const deleted = await fetch(statusUrl, { method: 'DELETE' });
  await deleted.arrayBuffer();
  return { resources: output.reduce((sum, file) => sum + file.count, 0), bytes, seconds };
}

function outputOf(manifest: unknown): { url: string; count: number }[] {
  if (typeof manifest !== 'object' || manifest === null || !('output' in manifest)) {
    throw new Error(`not an export manifest: ${JSON.stringify(manifest)}`);
  }
  const { output } = manifest;
  if (!Array.isArray(output)) throw new Error('export manifest without output');
  return output.map((entry: unknown) => {
    const { url, count } = (entry ?? {}) as { url?: unknown; count?: unknown };
    if (typeof url !== 'string' || typeof count !== 'number')
      throw new Error('manifest output entry without url/count');
    return { url, count };
  });
}

/**
 * `COPY … TO STDOUT` through a plain `pg.Client`, each CopyData message counted and dropped. pg
 * has no COPY API of its own (pg-copy-streams adds one); a query object that handles the copy
 * messages is all it takes to read one.
 */
async function copyBaseline(
  database: BenchDatabase,
): Promise<{ resources: number; bytes: number; seconds: number } | undefined> {
  if (database.databaseUrl === undefined) return undefined;
  const client = new pg.Client({ connectionString: database.databaseUrl });
  await client.connect();
  try {
    const started = performance.now();
    const counted = await new Promise<{ resources: number; bytes: number }>((resolve, reject) => {
      let resources = 0;
      let bytes = 0;
      let failure: Error | undefined;
      const copy = {
        submit(connection: { query(text: string): void }) {
          connection.query('copy (select content from resource where not deleted) to stdout');
        },
        handleCopyData(message: { chunk: Buffer }) {
          resources++;
          bytes += message.chunk.length;
        },
        handleCommandComplete() {},
        handleReadyForQuery() {
          if (failure === undefined) resolve({ resources, bytes });
          else reject(failure);
        },
        handleError(error: Error) {
          failure = error;
        },
      };
      // pg accepts any object with `submit` as a query (its "Submittable").
      client.query(copy as unknown as pg.QueryConfig);
    });
    return { ...counted, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}

function wholeNumber(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be an integer ≥ 1, got "${raw}"`);
  return value;
}
