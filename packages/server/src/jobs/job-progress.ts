/**
 * How a CLI command shows a job's progress (`concordia reindex`): a live bar on a terminal, and on
 * anything else a plain line every few seconds, as `concordia import` does.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Job } from './job.ts';

export type ProgressOutput = NodeJS.WritableStream & { isTTY?: boolean };

export interface JobProgressView {
  update(job: Job): void;
  stop(): void;
}

const LOG_INTERVAL_MS = 5000;

export function jobProgress(output: ProgressOutput, label: string): JobProgressView {
  if (output.isTTY === true) {
    const bar = new SingleBar(
      {
        stream: output,
        format: ` ${label} {bar} {value}/{total} resources | {percentage}% | {status}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(job) {
        const { done, total } = counts(job);
        if (!started) {
          bar.start(total, done, { status: job.status });
          started = true;
        }
        bar.setTotal(total);
        bar.update(done, { status: job.status });
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(job) {
      const now = Date.now();
      if (now - last < LOG_INTERVAL_MS && job.status === 'running') return;
      last = now;
      const { done, total } = counts(job);
      output.write(`${label}: ${job.status}, ${done}/${total} resources\n`);
    },
    stop: () => undefined,
  };
}

function counts(job: Job): { done: number; total: number } {
  const { done, total } = job.progress;
  return {
    done: typeof done === 'number' ? done : 0,
    total: typeof total === 'number' ? total : 0,
  };
}
