/**
 * Loads resources in batches: consecutive resources of a file go to the FHIR core as one
 * transaction Bundle of their PUTs (POSTs for those without an id), the importer's
 * skip-unchanged rule applying to each entry (fhir/unchanged-content.ts). A transaction is the
 * core's own write path — validation, access decision, history, search index, compartments, audit
 * and ledger — and the store writes its entries together (store/batched-writes.ts), so a batch of
 * 500 costs a few statements where 500 single PUTs cost 500 transactions.
 *
 * A transaction is all or nothing, so one bad resource fails its batch. The batch is then split in
 * halves until the failing resources are found; those (and the rest of a small failing part) are
 * sent alone, as single PUTs, so each failure carries the line it came from and exactly the
 * diagnostics that resource gets on its own — and everything else in the batch is still loaded.
 *
 * Order is kept: a batch ends before a resource whose id it already holds (a later line may change
 * an earlier one), and before a transaction or batch Bundle, which may refer to what came earlier.
 */
import type { RequestContext } from '../access/request-context.ts';
import type { FhirCore, FhirRequest, FhirResponse } from '../fhir/interaction.ts';
import { applyImportUnit, type UnitResult } from './apply-import-unit.ts';
import type { ImportUnit } from './import-requests.ts';

/** Resources per transaction: large enough that a statement's round trip is shared by many writes. */
export const DEFAULT_IMPORT_BATCH_SIZE = 500;

/** A failing part this small is sent resource by resource instead of being split again. */
const SPLIT_FLOOR = 8;

type ResourceUnit = Extract<ImportUnit, { kind: 'resource' }>;

export interface ImportBatcherOptions {
  core: FhirCore;
  ctx: RequestContext;
  /** Told of the outcome of every unit, once it is known: resources as their batch is done. */
  report(result: UnitResult): void;
  batchSize?: number;
}

export class ImportBatcher {
  private pending: ResourceUnit[] = [];
  private readonly pendingTargets = new Set<string>();
  private readonly batchSize: number;

  constructor(private readonly options: ImportBatcherOptions) {
    this.batchSize = Math.max(1, options.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE);
  }

  /** Loads the unit, or queues it into the current batch; `flush` finishes the batch. */
  async add(unit: ImportUnit): Promise<void> {
    if (unit.kind === 'rejected') {
      this.options.report(await applyImportUnit(this.options.core, this.options.ctx, unit));
      return;
    }
    if (unit.kind === 'bundle') {
      await this.flush();
      this.options.report(await applyImportUnit(this.options.core, this.options.ctx, unit));
      return;
    }
    const target = unit.request.method === 'PUT' ? unit.request.path : undefined;
    if (target !== undefined && this.pendingTargets.has(target)) await this.flush();
    this.pending.push(unit);
    if (target !== undefined) this.pendingTargets.add(target);
    if (this.pending.length >= this.batchSize) await this.flush();
  }

  /** Loads the queued resources; every unit added so far has then been reported. */
  async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.pendingTargets.clear();
    await this.load(batch, false);
  }

  private async load(units: readonly ResourceUnit[], isPart: boolean): Promise<void> {
    const { core, ctx, report } = this.options;
    if (units.length === 1 || (isPart && units.length <= SPLIT_FLOOR)) {
      for (const unit of units) report(await applyImportUnit(core, ctx, unit));
      return;
    }
    if (await loadedAsTransaction(core, ctx, units)) {
      report({ imported: units.length, failures: [] });
      return;
    }
    const half = Math.ceil(units.length / 2);
    await this.load(units.slice(0, half), true);
    await this.load(units.slice(half), true);
  }
}

async function loadedAsTransaction(
  core: FhirCore,
  ctx: RequestContext,
  units: readonly ResourceUnit[],
): Promise<boolean> {
  let response: FhirResponse;
  try {
    response = await core.handle(ctx, transactionRequest(units));
  } catch {
    // Whatever went wrong is found again, and reported, when the parts are loaded on their own.
    return false;
  }
  return response.status < 400;
}

function transactionRequest(units: readonly ResourceUnit[]): FhirRequest {
  const entry = units.map(({ request }) => ({
    request: { method: request.method, url: request.path },
    resource: request.body,
  }));
  return {
    method: 'POST',
    path: '',
    query: [],
    headers: { contentType: 'application/fhir+json', prefer: 'return=minimal' },
    body: { resourceType: 'Bundle', type: 'transaction', entry },
    skipUnchanged: true,
  };
}
