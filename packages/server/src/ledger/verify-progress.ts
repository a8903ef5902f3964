/**
 * How `concordia ledger verify` shows its progress on stderr: a live bar on a terminal, a plain line
 * every few seconds elsewhere (as `concordia import` does).
 */
import { Presets, SingleBar } from 'cli-progress';
import type { VerifyProgress } from './ledger-verify.ts';

export type ProgressOutput = NodeJS.WritableStream & { isTTY?: boolean };

const LOG_INTERVAL_MS = 5000;

export function verifyProgress(output: ProgressOutput): VerifyProgress {
  if (output.isTTY === true) {
    const bar = new SingleBar(
      {
        stream: output,
        format: ' verify {bar} {value}/{total} leaves | {percentage}% | {eta_formatted}',
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
    started(leaves) {
      total = leaves;
      output.write(`ledger verify: ${total} leaves to check\n`);
      timer = setInterval(() => output.write(`ledger verify: ${done}/${total} leaves\n`), LOG_INTERVAL_MS);
      timer.unref();
    },
    advanced(leaves) {
      done = leaves;
    },
    finished() {
      clearInterval(timer);
      output.write(
        `ledger verify: ${done}/${total} leaves checked; rows without entries and current resources checked\n`,
      );
    },
  };
}
