/**
 * Durable, batched storage of the audit of requests that write nothing: group commit. Requests the
 * core answers hand over an access-log row (access-log.ts: reads, searches, operations, refusals),
 * sign-ins a full AuditEvent. A request hands its entry over and waits; entries that arrive while a
 * batch is being written wait for the next one, so under load one statement carries many requests'
 * entries with their ledger entry (one leaf per access-log batch, access-log-batches.ts) and no
 * request pays a round trip of its own — yet none is answered before its entry is committed.
 *
 * When the database refuses a batch:
 * - `fail-closed` (default): every request of the batch fails with 503 — a clinical read that
 *   cannot be recorded is not served;
 * - `fail-open`: the requests are answered, the events stay queued and are retried, and every
 *   failure is logged at error level and counted (the alarm). Past `maxBacklog` queued events the
 *   sink fails closed anyway: an event is never dropped silently.
 * `close()` writes whatever is queued (graceful shutdown).
 */
import { fhirError } from '@concordia/fhir';
import type { Logger } from 'pino';
import type { SqlExecutor } from '../store/database.ts';
import { readNumber } from '../store/rows.ts';
import { prepared, type Sql, sql } from '../store/sql.ts';
import { type AccessRow, accessAuditRecord } from './access-log.ts';
import { accessBatchCtes } from './access-log-batches.ts';
import type { AuditSource } from './audit-agents.ts';
import type { AuditRecord } from './audit-event.ts';
import { auditRowsJson, insertAuditRows } from './audit-rows.ts';
import { auditLedgerEntries } from './ledger-leaves.ts';

export type AuditFailureMode = 'fail-closed' | 'fail-open';

/** A destination told of every committed batch besides the database (the syslog export). */
export type AuditForwarder = (records: readonly AuditRecord[]) => void;

export interface AuditSinkOptions {
  db: SqlExecutor;
  /** This node: the `source` of the access-log batches it writes. */
  source: AuditSource;
  /** Whether each event also becomes a ledger leaf (the ledger is on). */
  ledger: boolean;
  failureMode: AuditFailureMode;
  /** Most events in one insert. */
  maxBatchEvents: number;
  /**
   * How long the first event of a batch waits for others before the batch is written; 0: the
   * batch leaves as soon as the current turn of the event loop ends (and whenever the previous
   * batch is still being written, the next one fills up meanwhile anyway).
   */
  flushDelayMs: number;
  /**
   * Batches written at the same time (default 1). More than one helps only where the database
   * runs statements side by side (PostgreSQL's pool; PGlite has one connection): a request that
   * arrives while a batch commits then need not wait for that commit before its own starts.
   */
  maxConcurrentBatches?: number;
  /** `async`: batches commit without waiting for the disk (config.ts `AuditConfig.commit`). */
  commit?: 'durable' | 'async';
  /** `fail-open` only: most events kept for retry before the sink refuses requests. */
  maxBacklog?: number;
  /** `fail-open` only: how long to wait before retrying a failed batch. */
  retryDelayMs?: number;
  logger: Logger;
  forwarders?: readonly AuditForwarder[];
  /** Told of every failed batch (e.g. a metric the operator's alarm watches). */
  onFailure?: (error: unknown, events: number) => void;
}

export interface AuditSinkStats {
  /** Insert statements that committed, and the events they carried. */
  batches: number;
  events: number;
  failedBatches: number;
  /** Events waiting (queued or kept for retry). */
  pending: number;
}

export interface AuditSink {
  /** Resolves once `records` are committed (fail-open: or kept for retry); rejects with 503 otherwise. */
  record(records: readonly AuditRecord[]): Promise<void>;
  /** The same for one access-log row (access-log.ts): a request that wrote nothing. */
  recordAccess(row: AccessRow): Promise<void>;
  /**
   * The same for a row nobody waits for (interaction-audit.ts: master data lookups): it may linger
   * up to `DEFERRED_FLUSH_MS` so that it shares a batch with many others, unless a waited-for
   * entry or a full batch sends it sooner. The promise still tells whether it was stored.
   */
  deferAccess(row: AccessRow): Promise<void>;
  stats(): AuditSinkStats;
  /** Writes what is queued, then refuses new events. */
  close(): Promise<void>;
}

/** What a request hands over: full events (sign-ins) or compact access-log rows. */
interface Entries {
  records: readonly AuditRecord[];
  accesses: readonly AccessRow[];
}

interface Waiting extends Entries {
  deferred: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/** How long a row nobody waits for may wait for company (`deferAccess`). */
const DEFERRED_FLUSH_MS = 20;

const NO_RECORDS: readonly AuditRecord[] = [];
const NO_ACCESSES: readonly AccessRow[] = [];

export function createAuditSink(options: AuditSinkOptions): AuditSink {
  const maxBacklog = options.maxBacklog ?? 100_000;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const queue: Waiting[] = [];
  let queuedEvents = 0;
  /** Queued entries a request waits for: while there are any, batches leave without lingering. */
  let waitedFor = 0;
  /** fail-open: events of failed batches, written before anything newer. */
  let backlog: Entries = { records: [], accesses: [] };
  const backlogSize = (): number => backlog.records.length + backlog.accesses.length;
  const maxConcurrent = options.maxConcurrentBatches ?? 1;
  const asyncCommit =
    options.commit === 'async' ? sql`, set_config('synchronous_commit', 'off', true) as commit_mode` : sql``;
  const writing = new Set<Promise<void>>();
  let timer: { delayMs: number; cancel(): void } | undefined;
  let closed = false;
  const stats = { batches: 0, events: 0, failedBatches: 0 };

  const schedule = (delayMs: number): void => {
    if (writing.size >= maxConcurrent) return;
    if (timer !== undefined) {
      if (delayMs >= timer.delayMs) return;
      timer.cancel();
      timer = undefined;
    }
    const run = (): void => {
      timer = undefined;
      const batch: Promise<void> = writeBatch().finally(() => {
        writing.delete(batch);
        if (queue.length > 0 || (backlogSize() > 0 && !closed))
          schedule(queue.length > 0 ? nextDelay() : retryDelayMs);
      });
      writing.add(batch);
    };
    if (delayMs === 0) {
      const immediate = setImmediate(run);
      timer = { delayMs, cancel: () => clearImmediate(immediate) };
    } else {
      const timeout = setTimeout(run, delayMs);
      timer = { delayMs, cancel: () => clearTimeout(timeout) };
    }
  };

  const nextDelay = (): number =>
    waitedFor > 0 || closed ? options.flushDelayMs : Math.max(options.flushDelayMs, DEFERRED_FLUSH_MS);

  const writeNow = (): void => {
    if (timer === undefined || writing.size >= maxConcurrent) return;
    timer.cancel();
    timer = undefined;
    schedule(0);
  };

  async function writeBatch(): Promise<void> {
    const taken: Waiting[] = [];
    const kept = backlog;
    backlog = { records: [], accesses: [] };
    let events = kept.records.length + kept.accesses.length;
    while (queue.length > 0 && (taken.length === 0 || events < options.maxBatchEvents)) {
      const next = queue.shift();
      if (next === undefined) break;
      taken.push(next);
      if (!next.deferred) waitedFor -= 1;
      const size = next.records.length + next.accesses.length;
      events += size;
      queuedEvents -= size;
    }
    const batch: Entries = {
      records: [...kept.records, ...taken.flatMap((waiting) => waiting.records)],
      accesses: [...kept.accesses, ...taken.flatMap((waiting) => waiting.accesses)],
    };
    if (events === 0) return;
    let accessBatch: number | undefined;
    try {
      const [row] = await options.db.query(batchStatement(batch));
      accessBatch = batch.accesses.length > 0 && row !== undefined ? readNumber(row, 'batch') : undefined;
    } catch (error) {
      failed(error, batch, kept, taken);
      return;
    }
    stats.batches += 1;
    stats.events += events;
    for (const waiting of taken) waiting.resolve();
    const forwarders = options.forwarders ?? [];
    if (forwarders.length === 0) return;
    // The access log keeps facts; a forwarder gets the AuditEvents they stand for, ids included.
    const forwarded =
      accessBatch === undefined
        ? batch.records
        : [
            ...batch.records,
            ...batch.accesses.map((access, position) =>
              accessAuditRecord(access, { batch: accessBatch, position }, options.source),
            ),
          ];
    for (const forward of forwarders) forward(forwarded);
  }

  /**
   * One statement for the whole batch; its text depends only on which kinds it carries, so
   * PostgreSQL parses and plans each shape once per connection. `set_config(…, true)` lasts for
   * this statement's own transaction, and PostgreSQL reads synchronous_commit when that
   * transaction commits: one round trip either way.
   */
  function batchStatement({ records, accesses }: Entries): Sql {
    const events =
      records.length === 0
        ? undefined
        : sql`stored as (${insertAuditRows(auditRowsJson(records))})${
            options.ledger ? sql`, leaves as (${auditLedgerEntries(records)})` : sql``
          }`;
    const access =
      accesses.length === 0 ? undefined : accessBatchCtes(accesses, options.source, options.ledger);
    if (access === undefined)
      return prepared(sql`with ${events ?? sql``} select count(*) as stored${asyncCommit} from stored`);
    if (events === undefined)
      return prepared(sql`with ${access} select id as batch${asyncCommit} from access_batch`);
    return prepared(sql`with ${events}, ${access} select id as batch${asyncCommit} from access_batch`);
  }

  function failed(error: unknown, batch: Entries, kept: Entries, taken: Waiting[]): void {
    stats.failedBatches += 1;
    const events = batch.records.length + batch.accesses.length;
    options.onFailure?.(error, events);
    const keep = options.failureMode === 'fail-open' && events + backlogSize() <= maxBacklog && !closed;
    options.logger.error(
      { err: error, events, kept: keep },
      keep
        ? 'the audit sink could not store a batch; requests are served and the events kept for retry'
        : 'the audit sink could not store a batch; its requests are refused',
    );
    if (keep) {
      backlog = {
        records: [...batch.records, ...backlog.records],
        accesses: [...batch.accesses, ...backlog.accesses],
      };
      for (const waiting of taken) waiting.resolve();
      return;
    }
    // What was kept for retry is refused with this batch's requests: log it whole so that the
    // operator still has it (never silently dropped).
    if (kept.records.length + kept.accesses.length > 0)
      options.logger.error(
        { auditEvents: kept.records.map((record) => record.event), accessLog: kept.accesses },
        'audit events not stored',
      );
    const refusal = fhirError(
      'unavailable',
      'transient',
      'The audit record of this request could not be stored; try again later',
    );
    for (const waiting of taken) waiting.reject(refusal);
  }

  const enqueue = (entries: Entries, deferred = false): Promise<void> => {
    if (closed) {
      return Promise.reject(fhirError('unavailable', 'transient', 'The server is shutting down'));
    }
    return new Promise<void>((resolve, reject) => {
      queue.push({ ...entries, deferred, resolve, reject });
      queuedEvents += entries.records.length + entries.accesses.length;
      if (!deferred) waitedFor += 1;
      if (queuedEvents >= options.maxBatchEvents) writeNow();
      schedule(nextDelay());
    });
  };

  return {
    record: (records) => enqueue({ records, accesses: NO_ACCESSES }),
    recordAccess: (row) => enqueue({ records: NO_RECORDS, accesses: [row] }),
    deferAccess: (row) => enqueue({ records: NO_RECORDS, accesses: [row] }, true),
    stats() {
      return { ...stats, pending: queuedEvents + backlogSize() };
    },
    async close() {
      closed = true;
      while (writing.size > 0 || timer !== undefined || queue.length > 0) {
        writeNow();
        schedule(0);
        await (writing.size > 0 ? Promise.race(writing) : new Promise((resolve) => setImmediate(resolve)));
      }
      // One last attempt for what fail-open kept; failing that, the log keeps it (`failed`).
      if (backlogSize() > 0) await writeBatch();
    },
  };
}
