/**
 * Loads files into the server through the FHIR core, the same write path as every door
 * (DESIGN.md rule 1): validation, history, search index and audit apply to imported data too.
 *
 * A few files run concurrently; items within one file run in order, because a file may rely on
 * its own earlier content; its resources go in batches of `batchSize` (import-batches.ts). A
 * failing item is reported and counted, and the load goes on.
 */
import { type RequestContext, systemContext } from '../access/request-context.ts';
import type { FhirCore } from '../fhir/interaction.ts';
import type { ImportFailure, UnitResult } from './apply-import-unit.ts';
import { DEFAULT_IMPORT_BATCH_SIZE, ImportBatcher } from './import-batches.ts';
import { readImportFile } from './import-file-reader.ts';
import { importUnits } from './import-requests.ts';
import type { ImportPlan } from './import-sources.ts';

export interface ImportObserver {
  started(totalFiles: number): void;
  imported(resources: number): void;
  failed(failure: ImportFailure): void;
  fileFinished(file: string): void;
  finished(summary: ImportSummary): void;
}

export interface ImportSummary {
  files: number;
  resources: number;
  failures: number;
  seconds: number;
  resourcesPerSecond: number;
}

export interface ImportOptions {
  core: FhirCore;
  plan: ImportPlan;
  /** Files loaded at the same time (default 4). */
  concurrency?: number;
  /** Resources of a file written in one transaction (default 500). */
  batchSize?: number;
  observer?: ImportObserver;
  ctx?: RequestContext;
}

export const DEFAULT_IMPORT_CONCURRENCY = 4;

export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const { core, plan, observer } = options;
  const ctx = options.ctx ?? systemContext('import');
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_IMPORT_CONCURRENCY);
  const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE;
  const startedAt = performance.now();
  const totals = { files: 0, resources: 0, failures: 0 };

  const importFile = async (file: string): Promise<void> => {
    const record = (failure: ImportFailure): void => {
      totals.failures += 1;
      observer?.failed(failure);
    };
    const report = (result: UnitResult): void => {
      totals.resources += result.imported;
      if (result.imported > 0) observer?.imported(result.imported);
      for (const failure of result.failures) record(failure);
    };
    const batcher = new ImportBatcher({ core, ctx, report, batchSize });
    try {
      for await (const item of readImportFile(file)) {
        if (item.kind === 'unreadable') {
          record({ location: item.location, diagnostics: item.reason });
          continue;
        }
        for (const unit of importUnits(item.value, item.location)) await batcher.add(unit);
      }
    } catch (error) {
      // The file itself broke (unreadable, truncated gzip): report it and carry on with the others.
      record({ location: { file }, diagnostics: `cannot read the file: ${errorMessage(error)}` });
    }
    // What was read before the end (or the break) of the file is loaded.
    await batcher.flush();
    totals.files += 1;
    observer?.fileFinished(file);
  };

  observer?.started(plan.first.length + plan.rest.length);
  await forEachBounded(plan.first, concurrency, importFile);
  await forEachBounded(plan.rest, concurrency, importFile);

  const seconds = (performance.now() - startedAt) / 1000;
  const summary: ImportSummary = {
    ...totals,
    seconds,
    resourcesPerSecond: seconds > 0 ? totals.resources / seconds : 0,
  };
  observer?.finished(summary);
  return summary;
}

async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let item = items[next++]; item !== undefined; item = items[next++]) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
