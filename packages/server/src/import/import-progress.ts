/**
 * How `concordia import` shows its progress: a live bar on a terminal, and on anything else
 * (CI logs, `| tee`, systemd) a plain line every few seconds that reads well in a log file.
 * Failures are printed as they happen in both cases.
 */
import { MultiBar, Presets } from 'cli-progress';
import { describeLocation } from './import-item.ts';
import type { ImportObserver, ImportSummary } from './importer.ts';

/** Where progress goes: normally `process.stderr`, so that stdout carries only the summary. */
export type ProgressOutput = NodeJS.WritableStream & { isTTY?: boolean };

export function importProgress(output: ProgressOutput): ImportObserver {
  return output.isTTY === true ? progressBar(output) : periodicLines(output);
}

function progressBar(output: NodeJS.WritableStream): ImportObserver {
  const bars = new MultiBar(
    {
      stream: output,
      format: ' {bar} {value}/{total} files | {resources} resources | {rate} resources/s | {failures} failed',
      hideCursor: true,
      clearOnComplete: false,
    },
    Presets.shades_classic,
  );
  const counts = new Counts();
  const bar = bars.create(0, 0, counts.payload());
  return {
    started: (totalFiles) => bar.setTotal(totalFiles),
    imported: (resources) => {
      counts.resources += resources;
      bar.update(counts.payload());
    },
    failed: (failure) => {
      counts.failures += 1;
      bars.log(`failed: ${describeLocation(failure.location)}: ${failure.diagnostics}\n`);
      bar.update(counts.payload());
    },
    fileFinished: () => bar.increment(1, counts.payload()),
    finished: () => bars.stop(),
  };
}

const LOG_INTERVAL_MS = 5000;

function periodicLines(output: ProgressOutput): ImportObserver {
  const counts = new Counts();
  let totalFiles = 0;
  let filesDone = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    started: (files) => {
      totalFiles = files;
      output.write(`import: ${files} files to load\n`);
      timer = setInterval(() => {
        const { resources, rate, failures } = counts.payload();
        output.write(
          `import: ${filesDone}/${totalFiles} files, ${resources} resources, ${rate} resources/s, ${failures} failed\n`,
        );
      }, LOG_INTERVAL_MS);
      // The import's own work keeps the process alive; the progress timer must not.
      timer.unref();
    },
    imported: (resources) => {
      counts.resources += resources;
    },
    failed: (failure) => {
      counts.failures += 1;
      output.write(`import: failed: ${describeLocation(failure.location)}: ${failure.diagnostics}\n`);
    },
    fileFinished: () => {
      filesDone += 1;
    },
    finished: () => clearInterval(timer),
  };
}

class Counts {
  resources = 0;
  failures = 0;
  private readonly startedAt = performance.now();

  payload(): { resources: number; failures: number; rate: string } {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? Math.round(this.resources / seconds) : 0;
    return { resources: this.resources, failures: this.failures, rate: String(rate) };
  }
}

export function formatImportSummary(summary: ImportSummary): string {
  return [
    `Imported ${summary.resources} resources from ${summary.files} files`,
    `in ${summary.seconds.toFixed(1)} s (${Math.round(summary.resourcesPerSecond)} resources/s);`,
    `${summary.failures} ${summary.failures === 1 ? 'failure' : 'failures'}.`,
  ].join(' ');
}
