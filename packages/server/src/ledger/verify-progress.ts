/**
 * How `concordia ledger verify` (and `concordia blobs verify`) shows its progress on stderr: a live
 * bar on a terminal, a plain line every few seconds elsewhere (as `concordia import` does).
 */
import { Presets, SingleBar } from 'cli-progress';
import type { VerifyProgress } from './ledger-verify.ts';

export type ProgressOutput = NodeJS.WritableStream & { isTTY?: boolean };

const LOG_INTERVAL_MS = 5000;

/** What is counted, and what the last line adds; the ledger's leaves by default. */
export interface VerifyProgressLabels {
  command: string;
  unit: string;
  finished: string;
}

const LEDGER_LABELS: VerifyProgressLabels = {
  command: 'ledger verify',
  unit: 'leaves',
  finished: 'checked; rows without entries and current resources checked',
};

export function verifyProgress(
  output: ProgressOutput,
  labels: VerifyProgressLabels = LEDGER_LABELS,
): VerifyProgress {
  const { command, unit } = labels;
  if (output.isTTY === true) {
    const bar = new SingleBar(
      {
        stream: output,
        format: ` verify {bar} {value}/{total} ${unit} | {percentage}% | {eta_formatted}`,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    return {
      started: (total) => bar.start(total, 0),
      advanced: (done) => bar.update(done),
      finished: () => bar.stop(),
    };
  }
  let total = 0;
  let done = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    started(count) {
      total = count;
      output.write(`${command}: ${total} ${unit} to check\n`);
      timer = setInterval(() => output.write(`${command}: ${done}/${total} ${unit}\n`), LOG_INTERVAL_MS);
      timer.unref();
    },
    advanced(count) {
      done = count;
    },
    finished() {
      clearInterval(timer);
      output.write(`${command}: ${done}/${total} ${unit} ${labels.finished}\n`);
    },
  };
}
