/**
 * Starting and stopping the servers under test, each in its own process: Concordia through its
 * real CLI (`cli.ts serve`), the floor through floor-server.ts. Both get the same environment
 * (port, database, data directory, log level) and write their logs to a file, not to a pipe the
 * runner would have to drain while it is measuring.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BenchDatabase } from './database.ts';
import type { BenchLogLevel } from './options.ts';
import type { ServerKind } from './scenarios.ts';

export interface ServerUnderTest {
  kind: ServerKind;
  baseUrl: string;
  logPath: string;
  stop(): Promise<void>;
}

export interface ServerLaunch {
  repoRoot: string;
  database: BenchDatabase;
  logLevel: BenchLogLevel;
  /** Directory for the log files. */
  workDir: string;
}

const readyTimeoutMs = 120_000;
const stopTimeoutMs = 20_000;

export async function startServer(
  kind: ServerKind,
  launch: ServerLaunch,
  extraEnv: Record<string, string> = {},
): Promise<ServerUnderTest> {
  const port = await freePort();
  const script =
    kind === 'concordia'
      ? [join(launch.repoRoot, 'packages/server/src/cli.ts'), 'serve']
      : [join(launch.repoRoot, 'bench/floor-server.ts')];
  const logPath = join(launch.workDir, `${kind}-${port}.log`);
  const logFd = openSync(logPath, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', ...script], {
    cwd: launch.repoRoot,
    env: { ...serverEnvironment(port, launch), ...extraEnv },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);

  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(child, baseUrl);
  } catch (error) {
    await stopProcess(child);
    throw new Error(`${kind} server did not become ready: ${describe(error)}\n${await logTail(logPath)}`);
  }
  return { kind, baseUrl, logPath, stop: () => stopProcess(child) };
}

const BENCH_IDENTITY_KEY = createHash('sha256').update('concordia-bench').digest('base64');

function serverEnvironment(port: number, launch: ServerLaunch): NodeJS.ProcessEnv {
  // Start from the runner's environment (PATH, NODE_OPTIONS…) but never inherit a DATABASE_URL:
  // the servers must use the scratch database, or PGlite when there is none.
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  return {
    ...inherited,
    PORT: String(port),
    HOST: '127.0.0.1',
    CONCORDIA_DATA_DIR: launch.database.dataDir,
    // A fixed identity key: the data directory is new on every run, and a kept --dataset-db holds
    // signing keys sealed under the key of the run that created them. Not a secret: bench data only.
    CONCORDIA_IDENTITY_KEY: BENCH_IDENTITY_KEY,
    LOG_LEVEL: launch.logLevel,
    // The scenarios measure the FHIR path, not token verification: the open development principal.
    CONCORDIA_AUTH: 'insecure-demo',
    // Every request comes from 127.0.0.1 (one address budget), at up to ~15,000 a second: the
    // limiter stays on, so its cost is measured (`--without rate-limit`), but never refuses.
    CONCORDIA_RATE_LIMIT_MAX: '1000000000',
    ...(launch.database.databaseUrl !== undefined ? { DATABASE_URL: launch.database.databaseUrl } : {}),
  };
}

async function waitUntilReady(child: ChildProcess, baseUrl: string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process exited (${child.signalCode ?? child.exitCode})`);
    }
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      if (response.ok) return;
      lastProblem = `/readyz answered ${response.status}: ${await response.text()}`;
    } catch (error) {
      lastProblem = describe(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${readyTimeoutMs / 1000}s (${lastProblem})`);
}

/** SIGTERM first, so the server shuts down as in production (and PGlite flushes its files). */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

async function logTail(logPath: string, lines = 40): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return `--- last lines of ${logPath} ---\n${text.split('\n').slice(-lines).join('\n')}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
