import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SERVER = join(import.meta.dirname, '..');
const LAUNCHER = join(SERVER, 'bin/concordia.js');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the installed launcher in a clean environment (only PATH, plus `env`). */
function concordia(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [LAUNCHER, ...args],
      { cwd: SERVER, env: { PATH: process.env.PATH ?? '', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('concordia CLI', () => {
  it('reindexes as a job and reports it (concordia reindex)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'concordia-reindex-'));
    try {
      const { code, stdout, stderr } = await concordia(['reindex', '--type', 'Patient'], {
        CONCORDIA_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      });
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(/^Reindex job [0-9a-f-]{36} completed: 0 resources of 1 types\n$/);
      const unknown = await concordia(['reindex', '--type', 'Nothing'], { CONCORDIA_DATA_DIR: dataDir });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("Unknown resource type 'Nothing'");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    // Two launches, each creating or opening an embedded database: slow on a loaded CI machine.
  }, 240_000);

  it('lists its commands with examples', async () => {
    const { code, stdout } = await concordia(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: concordia \[options\] \[command\]/);
    for (const command of ['serve', 'migrate', 'import', 'reindex']) expect(stdout).toContain(command);
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('Exit status: 0 success, 1 failure, 2 invalid configuration.');
  });

  it.each([
    ['serve', ['--demo', 'concordia serve --demo', 'CONCORDIA_SHUTDOWN_GRACE_SECONDS']],
    ['migrate', ['concordia migrate', 'DATABASE_URL=']],
    [
      'import',
      [
        '<paths...>',
        '--concurrency',
        '--batch-size',
        '.ndjson.gz',
        'hospitalInformation',
        'concordia import ./output/fhir',
      ],
    ],
    ['reindex', ['--type', '--search-parameter', 'concordia reindex --type Patient Practitioner']],
  ])('explains "%s" with examples', async (command, expected) => {
    const { code, stdout } = await concordia([command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: concordia ${command}`);
    expect(stdout).toContain('Examples:');
    for (const text of expected) expect(stdout).toContain(text);
  });

  it('fails with status 1 and a hint on an unknown command', async () => {
    const { code, stderr } = await concordia(['frobnicate']);
    expect(code).toBe(1);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });

  it('fails with status 2 and lists the problems when the configuration is invalid', async () => {
    const { code, stderr } = await concordia(['migrate'], { PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(code).toBe(2);
    expect(stderr).toContain('Invalid configuration:');
    expect(stderr).toContain('PORT must be an integer');
    expect(stderr).toContain('LOG_LEVEL must be one of');
  });

  it('fails with status 1 when an import path does not exist', async () => {
    const { code, stderr } = await concordia(['import', 'no/such/dir']);
    expect(code).toBe(1);
    expect(stderr).toContain('concordia import: no/such/dir: no such file or directory');
  });
});
