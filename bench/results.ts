/**
 * The files a run leaves behind: one JSON per scenario (`<YYYY-MM-DD>-<scenario>.json`) and a
 * summary of the whole run (`<YYYY-MM-DD>-summary.json`). Each carries what is needed to compare
 * two runs honestly: the machine, the database, the settings and the commit measured.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Feature } from './features.ts';
import type { LoadResult } from './load-protocol.ts';
import type { BenchOptions, ScenarioName } from './options.ts';
import type { ServerKind } from './scenarios.ts';

export interface RunContext {
  /** UTC date of the run's start, the prefix of its result files. */
  date: string;
  startedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    totalMemoryMiB: number;
    platform: string;
    arch: string;
    node: string;
    /** 1-minute load average when the run started: other work on the machine skews every figure. */
    loadAverageAtStart: number;
  };
  database: { kind: 'postgresql' | 'pglite'; version: string };
  settings: Omit<BenchOptions, 'scenarios' | 'keepData'>;
  commit: string;
  seeding: { patients: number; seconds: number; patientsPerSecond: number };
}

export interface ScenarioReport {
  scenario: ScenarioName;
  description: string;
  server: ServerKind;
  /** Parts of the server switched off for this measurement (`--without`); none: everything on. */
  without?: readonly Feature[];
  result: LoadResult;
  /** requests/s of this scenario ÷ requests/s of `floor` in the same run. */
  ratioToFloor?: number;
  /** For the everything-on measurement: its requests/s ÷ those of the same scenario `without`. */
  ratioToWithout?: number;
  /** requests/s of every round, in order; `result` is the median round's. */
  roundRates?: number[];
}

export function describeMachine(): RunContext['machine'] {
  const processors = cpus();
  return {
    cpus: processors.length,
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    totalMemoryMiB: Math.round(totalmem() / 2 ** 20),
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    loadAverageAtStart: loadavg()[0] ?? 0,
  };
}

/** The commit measured, marked `-dirty` when the work tree has uncommitted changes. */
export function describeCommit(repoRoot: string): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, {
        cwd: repoRoot,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain') === '' ? head : `${head}-dirty`;
  } catch {
    return 'unknown (not a git work tree)';
  }
}

export async function writeResults(
  resultsDir: string,
  context: RunContext,
  reports: ScenarioReport[],
): Promise<string[]> {
  await mkdir(resultsDir, { recursive: true });
  const written: string[] = [];
  for (const report of reports) {
    const variant = report.without === undefined ? '' : `-without-${report.without.join('-')}`;
    const path = join(resultsDir, `${context.date}-${report.scenario}${variant}.json`);
    await writeFile(path, `${JSON.stringify({ ...context, ...report }, null, 2)}\n`);
    written.push(path);
  }
  const summaryPath = join(resultsDir, `${context.date}-summary.json`);
  const summary = {
    ...context,
    scenarios: reports.map(({ scenario, server, without, result, ratioToFloor, ratioToWithout }) => ({
      scenario,
      server,
      without: without ?? [],
      requestsPerSecond: round(result.requestsPerSecond),
      successesPerSecond: round(result.successesPerSecond),
      resourcesPerSecond: result.resourcesPerSecond === undefined ? null : round(result.resourcesPerSecond),
      ratioToWithout: ratioToWithout === undefined ? null : round(ratioToWithout, 3),
      p50Ms: result.latencyMs.p50,
      p99Ms: result.latencyMs.p99,
      ratioToFloor: ratioToFloor === undefined ? null : round(ratioToFloor, 3),
      non2xx: result.non2xx,
      errors: result.errors,
    })),
  };
  await writeFile(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  written.push(summaryPath);
  return written;
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
