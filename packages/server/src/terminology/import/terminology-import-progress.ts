/**
 * How `concordia terminology import` shows its progress: a live counter of concepts (or map
 * elements, or resources) on a terminal, a plain line every few seconds anywhere else — the same
 * two faces as `concordia import` (import/import-progress.ts). A release does not say how many
 * concepts it holds until it has been read, so this counts rather than fills a bar.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { ProgressOutput } from '../../import/import-progress.ts';

export interface TerminologyProgress {
  update(done: number): void;
  log(message: string): void;
  stop(): void;
}

const LOG_INTERVAL_MS = 5000;

export function terminologyProgress(output: ProgressOutput, unit: string): TerminologyProgress {
  const startedAt = performance.now();
  const rate = (done: number) => {
    const seconds = (performance.now() - startedAt) / 1000;
    return seconds > 0 ? Math.round(done / seconds) : 0;
  };
  if (output.isTTY === true) {
    const bar = new SingleBar(
      {
        stream: output,
        format: ` {value} ${unit} | {rate} ${unit}/s | {duration_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    bar.start(0, 0, { rate: 0 });
    return {
      update: (done) => bar.update(done, { rate: rate(done) }),
      log: (message) => output.write(`\n${message}\n`),
      stop: () => bar.stop(),
    };
  }
  let latest = 0;
  const timer = setInterval(() => {
    output.write(`terminology import: ${latest} ${unit}, ${rate(latest)} ${unit}/s\n`);
  }, LOG_INTERVAL_MS);
  // The import keeps the process alive; the progress timer must not.
  timer.unref();
  return {
    update: (done) => {
      latest = done;
    },
    log: (message) => output.write(`terminology import: ${message}\n`),
    stop: () => clearInterval(timer),
  };
}
