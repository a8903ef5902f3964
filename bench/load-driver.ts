/**
 * Runs one load job in a child process (load-worker.ts) and returns its result. The child is a
 * separate Node process, not a worker thread: on a 2-core machine the OS then schedules the
 * generator and the server as equals, as it would a client on another host.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { type LoadJob, type LoadResult, parseWorkerMessage } from './load-protocol.ts';

const workerPath = join(import.meta.dirname, 'load-worker.ts');

export function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = fork(workerPath, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      outcome();
    };
    worker.once('message', (message: unknown) => {
      try {
        const reply = parseWorkerMessage(message);
        if (reply.kind === 'result') settle(() => resolve(reply.result));
        else settle(() => reject(new Error(`load worker failed: ${reply.message}`)));
      } catch (error) {
        settle(() => reject(error));
      }
    });
    worker.once('error', (error) => settle(() => reject(error)));
    worker.once('exit', (code, signal) =>
      settle(() => reject(new Error(`load worker exited (${signal ?? code}) before reporting a result`))),
    );
    worker.send(job);
  });
}
