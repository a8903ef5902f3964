/**
 * The `concordia` command as an operator runs it: the installed launcher (`bin/concordia.js`) in a
 * child process, with only PATH and what the test sets in its environment, answered by its exit
 * code and what it printed.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const SERVER = join(import.meta.dirname, '../..');
const LAUNCHER = join(SERVER, 'bin/concordia.js');

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export function concordia(args: readonly string[], env: Record<string, string> = {}): Promise<CliOutcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [LAUNCHER, ...args],
      { cwd: SERVER, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
