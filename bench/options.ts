/**
 * Command-line options of `npm run bench`. Scenarios always run in the canonical order below,
 * whatever order they are named in: reads go before writes so that `read`, `vread` and `floor`
 * see the same freshly seeded table, and `floor` goes first so every later ratio has its base.
 * The search scenarios are opt-in (they need a generated dataset loaded first) and also run before
 * the writes.
 */
import { parseArgs } from 'node:util';
import { type Feature, isFeature, switchableFeatures } from './features.ts';
import { isSearchScenario, searchScenarioNames } from './search-scenarios.ts';
import { terminologyScenarioNames } from './terminology-scenarios.ts';

const coreScenarioNames = ['floor', 'read', 'vread'] as const;
const writeScenarioNames = ['update', 'create', 'ingest'] as const;
export const scenarioNames = [
  ...coreScenarioNames,
  ...searchScenarioNames,
  ...terminologyScenarioNames,
  ...writeScenarioNames,
] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** What runs when no scenario is named. */
const defaultScenarioNames: readonly ScenarioName[] = [...coreScenarioNames, ...writeScenarioNames];
/** Names that stand for several scenarios. */
const scenarioGroups: Record<string, readonly ScenarioName[]> = {
  search: searchScenarioNames,
  terminology: terminologyScenarioNames,
};

/** Resources in the search dataset: the targets are defined at a million. */
const defaultSearchResources = 1_000_000;

export const benchLogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type BenchLogLevel = (typeof benchLogLevels)[number];

export interface BenchOptions {
  scenarios: ScenarioName[];
  durationSeconds: number;
  warmupSeconds: number;
  /** Rounds through all scenarios; each scenario reports its median round (shared machines are noisy). */
  rounds: number;
  connections: number;
  /** Patients created through the FHIR API before measuring. */
  seedCount: number;
  /** LOG_LEVEL of both the server under test and the floor server, so both pay the same logging cost. */
  logLevel: BenchLogLevel;
  /** Keep the scratch PostgreSQL database (or PGlite data directory) after the run, for inspection. */
  keepData: boolean;
  /** Size of the Synthea-derived dataset loaded before search scenarios (load-data.ts). */
  searchResources: number;
  /**
   * A PostgreSQL database, beside the one DATABASE_URL names, that holds the search dataset across
   * runs: loaded once, reused while it matches (dataset-database.ts), never dropped.
   */
  datasetDatabase?: string;
  /**
   * Parts of the server switched off on a second server (features.ts): every scenario also runs
   * there, in the same rounds, and reports its ratio to it.
   */
  without: Feature[];
}

export const usage = `Usage: npm run bench -- [scenario ...] [options]

Starts Concordia (PostgreSQL when DATABASE_URL is set, else embedded PGlite), seeds Patients through
the FHIR API, and drives HTTP load with autocannon from a separate process.

Scenarios (default: floor read vread update create ingest; always run in this order):
  floor    the same Fastify stack answering GET /fhir/Patient/:id with a bare primary-key lookup
  read     GET  /fhir/Patient/<random seeded id>
  vread    GET  /fhir/Patient/<random seeded id>/_history/1
  search-… opt-in, name them or the group "search"; a Synthea-derived dataset of --resources is
           generated (once, into bench/data/) and imported first. See bench/README.md.
           ${searchScenarioNames.join(' ')}
  terminology-… opt-in, name them or the group "terminology"; ICD-10-CM (../shared/data/codes) is
           imported first with concordia terminology import: ${terminologyScenarioNames.join(' ')}
  update   PUT  /fhir/Patient/<random seeded id>
  create   POST /fhir/Patient
  ingest   POST /fhir with Synthea patient transaction Bundles (reports resources/s)
  export   on its own (first argument): system $export of the Synthea dataset against a bare
           COPY baseline; see npm run bench -- export --help

Options:
  --duration <s>       measured seconds per scenario (default 10)
  --warmup <s>         unmeasured seconds before each scenario (default 3)
  --rounds <n>         rounds through the scenarios, interleaved; each reports its median (default 3)
  --connections <n>    concurrent HTTP connections (default 10)
  --seed <n>           Patients to create before measuring (default 1000)
  --log-level <level>  LOG_LEVEL of the servers under test (default warn)
  --keep-data          keep the scratch database / data directory after the run
  --resources <n>      resources in the search dataset (default ${defaultSearchResources})
  --dataset-db <name>  PostgreSQL only: keep the loaded search dataset in this database and reuse it
                       on later runs with the same --resources (loading a million takes a while);
                       only read scenarios may run against it, so it stays as loaded
  --without <a,b>      also run every scenario on a server with these parts switched off and report
                       the ratio (${Object.keys(switchableFeatures).join(', ')})
  -h, --help           show this help

Results: a table on stdout, bench/results/<YYYY-MM-DD>-<scenario>.json per scenario and
bench/results/<YYYY-MM-DD>-summary.json. Exit status 1 when any response was not 2xx.`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export type ParsedCommandLine = { kind: 'help' } | { kind: 'run'; options: BenchOptions };

export function parseCommandLine(argv: string[]): ParsedCommandLine {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1000' },
      'log-level': { type: 'string', default: 'warn' },
      'keep-data': { type: 'boolean', default: false },
      resources: { type: 'string', default: String(defaultSearchResources) },
      'dataset-db': { type: 'string' },
      without: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { kind: 'help' };

  const requested = positionals.flatMap(scenariosNamed);
  const scenarios =
    requested.length === 0
      ? scenarioNames.filter((name) => defaultScenarioNames.includes(name))
      : scenarioNames.filter((name) => requested.includes(name));
  const datasetDatabase = values['dataset-db'];
  if (datasetDatabase !== undefined) checkDatasetDatabase(datasetDatabase, scenarios);
  return {
    kind: 'run',
    options: {
      scenarios,
      durationSeconds: wholeNumber('--duration', values.duration, 1),
      warmupSeconds: wholeNumber('--warmup', values.warmup, 0),
      rounds: wholeNumber('--rounds', values.rounds, 1),
      connections: wholeNumber('--connections', values.connections, 1),
      seedCount: wholeNumber('--seed', values.seed, 1),
      logLevel: logLevelNamed(values['log-level']),
      keepData: values['keep-data'],
      searchResources: wholeNumber('--resources', values.resources, 1),
      ...(datasetDatabase !== undefined ? { datasetDatabase } : {}),
      without: featuresNamed(values.without),
    },
  };
}

function featuresNamed(list: string): Feature[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !isFeature(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `--without: unknown ${unknown.join(', ')}; known: ${Object.keys(switchableFeatures).join(', ')}`,
    );
  }
  return names.filter(isFeature);
}

/** A dataset database must stay as loaded: writes would change what later runs measure. */
function checkDatasetDatabase(name: string, scenarios: readonly ScenarioName[]): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new UsageError(`--dataset-db must be a plain lower-case database name, got "${name}"`);
  }
  if (!scenarios.some(isSearchScenario)) {
    throw new UsageError('--dataset-db keeps a search dataset: name at least one search scenario');
  }
  const writes = scenarios.filter((scenario) => writeScenarioNames.some((write) => write === scenario));
  if (writes.length > 0) {
    throw new UsageError(`--dataset-db runs only read scenarios; drop ${writes.join(', ')}`);
  }
}

function scenariosNamed(name: string): readonly ScenarioName[] {
  const group = scenarioGroups[name];
  if (group !== undefined) return group;
  const match = scenarioNames.find((candidate) => candidate === name);
  if (match === undefined)
    throw new UsageError(`unknown scenario "${name}" (known: ${[...scenarioNames, 'search'].join(', ')})`);
  return [match];
}

function logLevelNamed(name: string): BenchLogLevel {
  const match = benchLogLevels.find((candidate) => candidate === name);
  if (match === undefined) throw new UsageError(`--log-level must be one of ${benchLogLevels.join(', ')}`);
  return match;
}

function wholeNumber(flag: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}
