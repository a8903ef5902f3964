/**
 * The terminology scenarios of issue 5: `$validate-code` and `$expand` with a text filter over the
 * full ICD-10-CM release of `../shared/data/codes/icd10cm-2021-cdc`, loaded into the scratch
 * database before any server starts with `concordia terminology import icd10cm`, as an operator
 * would. Each request is drawn from codes and words of the release itself, so every query names
 * something that exists. Opt-in: name them, or the group "terminology".
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { BenchDatabase } from './database.ts';

export const terminologyScenarioNames = ['terminology-validate-code', 'terminology-expand'] as const;
export type TerminologyScenarioName = (typeof terminologyScenarioNames)[number];

export function isTerminologyScenario(name: string): name is TerminologyScenarioName {
  return (terminologyScenarioNames as readonly string[]).includes(name);
}

const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
/** A ValueSet of all of ICD-10-CM, stored through the API before measuring (`storeTerminologyValueSet`). */
const ICD10CM_ALL = 'https://concordia.example/bench/ValueSet/icd10cm-all';

/** Codes and display words sampled from the release, for the queries. */
export interface TerminologySamples {
  codes: string[];
  words: string[];
  load: { seconds: number };
}

export interface TerminologyScenario {
  description: string;
  p99TargetMs: number;
  queries(samples: TerminologySamples): string[];
}

export const terminologyScenarios: Record<TerminologyScenarioName, TerminologyScenario> = {
  'terminology-validate-code': {
    description:
      'GET /fhir/CodeSystem/$validate-code?url=icd-10-cm&code=<code> (issue 5: p99 ≤ 5 ms at 20 clients)',
    p99TargetMs: 5,
    queries: ({ codes }) =>
      codes.map(
        (code) =>
          `/fhir/CodeSystem/$validate-code?url=${encodeURIComponent(ICD10CM)}&code=${encodeURIComponent(code)}`,
      ),
  },
  'terminology-expand': {
    description:
      'GET /fhir/ValueSet/$expand?url=icd-10-cm?fhir_vs&filter=<word>&count=20 (issue 5: p99 ≤ 50 ms)',
    p99TargetMs: 50,
    queries: ({ words }) =>
      words.map(
        (word) =>
          `/fhir/ValueSet/$expand?url=${encodeURIComponent(ICD10CM_ALL)}&filter=${encodeURIComponent(word)}&count=20`,
      ),
  },
};

export function icd10cmReleaseDir(repoRoot: string): string {
  return join(repoRoot, '..', 'shared', 'data', 'codes', 'icd10cm-2021-cdc');
}

/**
 * Imports ICD-10-CM into the scratch database with `cli.ts terminology import icd10cm`, then reads
 * the order file for codes (billable and headers) and display words to query with.
 */
export async function loadTerminologyDataset(
  repoRoot: string,
  database: BenchDatabase,
): Promise<TerminologySamples> {
  const dir = icd10cmReleaseDir(repoRoot);
  if (!existsSync(dir)) throw new Error(`the terminology scenarios need ICD-10-CM in ${dir}`);
  console.log(`Importing ICD-10-CM from ${dir} through concordia terminology import …`);
  const started = performance.now();
  await runCli(repoRoot, database, ['terminology', 'import', 'icd10cm', dir]);
  const seconds = (performance.now() - started) / 1000;
  console.log(`Imported ICD-10-CM in ${seconds.toFixed(1)} s.`);
  return { ...(await orderFileSamples(join(dir, 'icd10cm-order-Jan-2021.txt.gz'))), load: { seconds } };
}

async function runCli(repoRoot: string, database: BenchDatabase, args: string[]): Promise<void> {
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'packages', 'server', 'src', 'cli.ts'), ...args],
    {
      cwd: repoRoot,
      env: {
        ...inherited,
        CONCORDIA_DATA_DIR: database.dataDir,
        LOG_LEVEL: 'warn',
        ...(database.databaseUrl !== undefined ? { DATABASE_URL: database.databaseUrl } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', resolveExit);
  });
  if (code !== 0) throw new Error(`concordia ${args.join(' ')} exited with ${code}`);
}

/**
 * The order file's fixed columns (icd10cm order file layout): order number (5), blank, code (7),
 * blank, header flag (1), blank, short title (60), blank, long title.
 */
async function orderFileSamples(path: string): Promise<Omit<TerminologySamples, 'load'>> {
  const codes: string[] = [];
  const words = new Map<string, number>();
  const lines = createInterface({
    input: createReadStream(path).pipe(createGunzip()),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    const raw = line.slice(6, 13).trim();
    if (raw === '') continue;
    codes.push(raw.length > 3 ? `${raw.slice(0, 3)}.${raw.slice(3)}` : raw);
    for (const word of line
      .slice(77)
      .toLowerCase()
      .split(/[^a-z]+/)) {
      if (word.length >= 5) words.set(word, (words.get(word) ?? 0) + 1);
    }
  }
  // Words a clinician would type: common enough to find something, several hundred distinct ones.
  const common = [...words.entries()]
    .filter(([, count]) => count >= 5)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 500)
    .map(([word]) => word.slice(0, 6));
  return { codes: sample(codes, 5000), words: common };
}

/** Every n-th element, so the sample spans the whole release. */
function sample<T>(items: readonly T[], size: number): T[] {
  if (items.length <= size) return [...items];
  const step = items.length / size;
  return Array.from({ length: size }, (_, index) => items[Math.floor(index * step)]).filter(
    (item) => item !== undefined,
  );
}

/** Stores the ValueSet that includes every ICD-10-CM code, which `terminology-expand` expands. */
export async function storeTerminologyValueSet(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}/fhir/ValueSet/icd10cm-all`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'ValueSet',
      id: 'icd10cm-all',
      url: ICD10CM_ALL,
      status: 'active',
      compose: { include: [{ system: ICD10CM }] },
    }),
  });
  if (!response.ok)
    throw new Error(`storing ValueSet/icd10cm-all failed: ${response.status} ${await response.text()}`);
}
