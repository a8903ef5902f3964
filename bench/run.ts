/**
 * `npm run bench`: seeds Concordia through its FHIR API, then measures each scenario with
 * autocannon running in a separate process, against the real server (or the floor server) running
 * in another. Usage and output: bench/README.md, or `npm run bench -- --help`.
 *
 * Benchmarks are not tests (STYLE.md): nothing here asserts a timing; the run reports, compares
 * against the floor measured in the same run, and writes its results to files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BenchDatabase, prepareDatabase } from './database.ts';
import { runExportBench } from './export-bench.ts';
import { environmentWithout, type Feature } from './features.ts';
import { runLoad } from './load-driver.ts';
import { type BenchOptions, parseCommandLine, type ScenarioName, UsageError, usage } from './options.ts';
import { formatFailures, formatTable, formatTargets, reportLabel } from './report.ts';
import {
  describeCommit,
  describeMachine,
  type RunContext,
  type ScenarioReport,
  writeResults,
} from './results.ts';
import { type PlanInputs, type ServerKind, scenarioNamed } from './scenarios.ts';
import {
  loadSearchDataset,
  probeSearchScenarios,
  type SearchDatasetSummary,
  searchDatasetSummary,
} from './search-preparation.ts';
import type { SearchProbe } from './search-probe.ts';
import { isSearchScenario } from './search-scenarios.ts';
import { formatSearchTargets } from './search-targets.ts';
import { seedPatients } from './seed.ts';
import { type ServerLaunch, type ServerUnderTest, startServer } from './server-process.ts';
import { syntheaBundleFiles } from './synthea-bundles.ts';
import {
  isTerminologyScenario,
  loadTerminologyDataset,
  storeTerminologyValueSet,
} from './terminology-scenarios.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const resultsDir = join(repoRoot, 'bench', 'results');

async function main(argv: string[]): Promise<number> {
  // The export benchmark measures one job, not HTTP load: its own options and report.
  if (argv[0] === 'export') return runExportBench(repoRoot, argv.slice(1));
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (parsed.kind === 'help') {
    console.log(usage);
    return 0;
  }
  const options = parsed.options;

  const workDir = await mkdtemp(join(tmpdir(), 'concordia-bench-'));
  // The bench is a program outside the server, so reading its own environment here is fine;
  // the server itself still reads it only in config.ts.
  const sourceUrl = process.env.DATABASE_URL?.trim() || undefined;
  const database = await prepareDatabase({
    sourceUrl,
    dataDir: join(workDir, 'data'),
    keepData: options.keepData,
    repoRoot,
    ...(options.datasetDatabase !== undefined ? { datasetDatabase: options.datasetDatabase } : {}),
  });
  try {
    return await benchmark(options, database, workDir, sourceUrl);
  } finally {
    await database.dispose();
    if (options.keepData) console.log(`Kept logs and data in ${workDir}.`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

async function benchmark(
  options: BenchOptions,
  database: BenchDatabase,
  workDir: string,
  sourceUrl: string | undefined,
): Promise<number> {
  const startedAt = new Date();
  const machine = describeMachine();
  console.log(
    `Concordia bench: ${database.version}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; ` +
      `${options.rounds} interleaved rounds of ${options.durationSeconds}s per scenario after ${options.warmupSeconds}s warm-up, ` +
      `${options.connections} connections`,
  );

  if (machine.loadAverageAtStart > machine.cpus / 2) {
    console.warn(
      `!! The machine is busy (load average ${machine.loadAverageAtStart.toFixed(1)} on ${machine.cpus} cpus): ` +
        'figures will be low and noisy; ratios to the floor suffer less, but prefer an idle machine.',
    );
  }

  // The dataset is imported before any server starts: on PGlite one process owns the files.
  const search = options.scenarios.some(isSearchScenario)
    ? await loadSearchDataset(repoRoot, options.searchResources, database, sourceUrl)
    : undefined;
  // ICD-10-CM too: the importer writes to the database before a server owns it.
  const terminologySamples = options.scenarios.some(isTerminologyScenario)
    ? await loadTerminologyDataset(repoRoot, database)
    : undefined;
  const servers = new ServerSwitch({ repoRoot, database, logLevel: options.logLevel, workDir });
  try {
    // With a search dataset loaded nothing is seeded: bench Patients would blur the dataset's name
    // selectivity, and the floor and the reads use the dataset's own sampled Patients instead.
    const needsSeed = search === undefined && options.scenarios.some((name) => !isSearchScenario(name));
    const seeding = needsSeed ? await seed(servers, options.seedCount) : noSeeding;
    if (terminologySamples !== undefined)
      await storeTerminologyValueSet((await servers.use('concordia')).baseUrl);
    const patientIds = search?.dataset.samples.patients.map((patient) => patient.id) ?? seeding.ids;
    const syntheaBundles = options.scenarios.includes('ingest') ? await syntheaBundleFiles(repoRoot) : [];
    const inputs: PlanInputs = {
      patientIds,
      searchSamples: search?.dataset.samples,
      syntheaBundles,
      ...(terminologySamples !== undefined ? { terminologySamples } : {}),
    };
    const probes =
      search === undefined
        ? new Map<ScenarioName, SearchProbe>()
        : await probeSearchScenarios((await servers.use('concordia')).baseUrl, options.scenarios, inputs);
    const reports = withRatiosToWithout(withFloorRatios(await measure(servers, inputs, options)));
    const context: RunContext & { searchDataset?: SearchDatasetSummary } = {
      date: startedAt.toISOString().slice(0, 10),
      startedAt: startedAt.toISOString(),
      machine,
      database: { kind: database.kind, version: database.version },
      settings: {
        durationSeconds: options.durationSeconds,
        warmupSeconds: options.warmupSeconds,
        rounds: options.rounds,
        connections: options.connections,
        seedCount: options.seedCount,
        logLevel: options.logLevel,
        searchResources: options.searchResources,
        without: options.without,
      },
      commit: describeCommit(repoRoot),
      seeding: seeding.summary,
      ...(search === undefined
        ? {}
        : { searchDataset: searchDatasetSummary(search), searchProbes: [...probes.values()] }),
    };
    const written = await writeResults(resultsDir, context, reports);

    console.log(`\n${formatTable(reports)}\n`);
    const failures = formatFailures(reports);
    const searchTargets =
      search === undefined
        ? []
        : formatSearchTargets(context, reports, search.dataset.samples.resources, probes);
    for (const line of [...failures, ...formatTargets(context, reports), ...searchTargets]) console.log(line);
    console.log(`\nResults: ${written.map((path) => path.slice(repoRoot.length + 1)).join(', ')}`);
    return failures.length > 0 ? 1 : 0;
  } finally {
    await servers.stop();
  }
}

const noSeeding: { ids: string[]; summary: RunContext['seeding'] } = {
  ids: [],
  summary: { patients: 0, seconds: 0, patientsPerSecond: 0 },
};

async function seed(
  servers: ServerSwitch,
  count: number,
): Promise<{ ids: string[]; summary: RunContext['seeding'] }> {
  const concordia = await servers.use('concordia');
  const started = performance.now();
  const ids = await seedPatients(concordia.baseUrl, count);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `Seeded ${ids.length} Patients in ${seconds.toFixed(1)}s (${(ids.length / seconds).toFixed(0)}/s).`,
  );
  return { ids, summary: { patients: ids.length, seconds, patientsPerSecond: ids.length / seconds } };
}

async function measure(
  servers: ServerSwitch,
  inputs: PlanInputs,
  options: BenchOptions,
): Promise<ScenarioReport[]> {
  // Scenarios are interleaved round by round, so that a slow spell of a shared machine falls on
  // every scenario alike instead of on whichever ran during it; each reports its median round.
  // With `--without`, each Concordia scenario runs right after itself on the reduced server.
  const measurements = options.scenarios.flatMap((name) => {
    const scenario = scenarioNamed(name);
    const variants: (readonly Feature[] | undefined)[] =
      options.without.length > 0 && scenario.server === 'concordia'
        ? [undefined, options.without]
        : [undefined];
    return variants.map((without) => ({ scenario, without, key: reportLabel({ scenario: name, without }) }));
  });
  const rounds = new Map<string, ScenarioReport[]>();
  for (let round = 1; round <= options.rounds; round++) {
    for (const { scenario, without, key } of measurements) {
      const server = await servers.use(scenario.server, without ?? []);
      const job = { url: server.baseUrl, plan: scenario.plan(inputs), connections: options.connections };
      if (options.warmupSeconds > 0) await runLoad({ ...job, durationSeconds: options.warmupSeconds });
      const result = await runLoad({ ...job, durationSeconds: options.durationSeconds });
      const reports = rounds.get(key) ?? [];
      reports.push({
        scenario: scenario.name,
        description: scenario.description,
        server: scenario.server,
        ...(without !== undefined ? { without } : {}),
        result,
      });
      rounds.set(key, reports);
      const resources =
        result.resourcesPerSecond === undefined
          ? ''
          : ` (${result.resourcesPerSecond.toFixed(0)} resources/s)`;
      console.log(
        `  round ${round}/${options.rounds} ${key.padEnd(23)} ${result.requestsPerSecond.toFixed(0)} req/s${resources}, p99 ${result.latencyMs.p99} ms`,
      );
    }
  }
  return measurements.flatMap(({ key }) => {
    const reports = rounds.get(key) ?? [];
    const sorted = [...reports].sort((a, b) => rateOf(a) - rateOf(b));
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    if (median === undefined) return [];
    return [{ ...median, roundRates: reports.map(rateOf) }];
  });
}

/** What a scenario is compared by: resources/s for Bundle scenarios, requests/s otherwise. */
function rateOf(report: ScenarioReport): number {
  return report.result.resourcesPerSecond ?? report.result.requestsPerSecond;
}

/** Each everything-on measurement's median per-round ratio to its `--without` twin. */
function withRatiosToWithout(reports: ScenarioReport[]): ScenarioReport[] {
  return reports.map((report) => {
    if (report.without !== undefined) return report;
    const twin = reports.find((other) => other.scenario === report.scenario && other.without !== undefined);
    const ratio = medianRatio(report.roundRates ?? [], twin?.roundRates ?? []);
    return ratio === undefined ? report : { ...report, ratioToWithout: ratio };
  });
}

function medianRatio(rates: readonly number[], baseRates: readonly number[]): number | undefined {
  const ratios = rates.flatMap((rate, round) => {
    const base = baseRates[round];
    return base !== undefined && base > 0 ? [rate / base] : [];
  });
  const sorted = ratios.sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * The ratio to the floor is the median of per-round ratios: a scenario and the floor measured
 * seconds apart in the same round share the machine's state, which drifts a lot between rounds
 * on shared hardware (seen here: the same floor from 7,000 to 10,700 req/s).
 */
function withFloorRatios(reports: ScenarioReport[]): ScenarioReport[] {
  const floor = reports.find((report) => report.scenario === 'floor');
  const floorRates = floor?.roundRates ?? [];
  if (floor === undefined || floorRates.length === 0) return reports;
  return reports.map((report) => {
    if (report.scenario === 'floor' || report.result.resourcesPerSecond !== undefined) return report;
    const ratioToFloor = medianRatio(report.roundRates ?? [], floorRates);
    return ratioToFloor === undefined ? report : { ...report, ratioToFloor };
  });
}

/**
 * At most one server under test runs at a time: the measured server gets the machine to itself,
 * and PGlite, which one process owns, can be handed from Concordia to the floor and back.
 */
class ServerSwitch {
  private current: ServerUnderTest | undefined;
  private currentKey = '';

  constructor(private readonly launch: ServerLaunch) {}

  async use(kind: ServerKind, without: readonly Feature[] = []): Promise<ServerUnderTest> {
    const key = `${kind} ${without.join(',')}`;
    if (this.current !== undefined && this.currentKey === key) return this.current;
    await this.stop();
    this.current = await startServer(kind, this.launch, environmentWithout(without));
    this.currentKey = key;
    return this.current;
  }

  async stop(): Promise<void> {
    const running = this.current;
    this.current = undefined;
    await running?.stop();
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(error instanceof UsageError ? error.message : error);
    process.exitCode = 1;
  },
);
