/**
 * Durable, batched storage of the AuditEvents of requests that write nothing (reads, searches,
 * operations, refusals, sign-ins): group commit. A request hands its event over and waits; events
 * that arrive while a batch is being written wait for the next one, so under load one multi-row
 * insert (and its ledger leaves, in the same statement) carries many requests' events and no
 * request pays a round trip of its own — yet none is answered before its event is committed.
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
import { prepared, sql } from '../store/sql.ts';
import type { AuditRecord } from './audit-event.ts';
import { auditRowsJson, insertAuditRows } from './audit-rows.ts';
import { auditLedgerEntries } from './ledger-leaves.ts';

export type AuditFailureMode = 'fail-closed' | 'fail-open';

/** A destination told of every committed batch besides the database (the syslog export). */
export type AuditForwarder = (records: readonly AuditRecord[]) => void;

export interface AuditSinkOptions {
  db: SqlExecutor;
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
  stats(): AuditSinkStats;
  /** Writes what is queued, then refuses new events. */
  close(): Promise<void>;
}

interface Waiting {
  records: readonly AuditRecord[];
  resolve(): void;
  reject(error: unknown): void;
}

export function createAuditSink(options: AuditSinkOptions): AuditSink {
  const maxBacklog = options.maxBacklog ?? 100_000;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const queue: Waiting[] = [];
  let queuedEvents = 0;
  /** fail-open: events of failed batches, written before anything newer. */
  let backlog: AuditRecord[] = [];
  const maxConcurrent = options.maxConcurrentBatches ?? 1;
  const asyncCommit =
    options.commit === 'async' ? sql`, set_config('synchronous_commit', 'off', true) as commit_mode` : sql``;
  const writing = new Set<Promise<void>>();
  let timer: { cancel(): void } | undefined;
  let closed = false;
  const stats = { batches: 0, events: 0, failedBatches: 0 };

  const schedule = (delayMs: number): void => {
    if (writing.size >= maxConcurrent || timer !== undefined) return;
    const run = (): void => {
      timer = undefined;
      const batch: Promise<void> = writeBatch().finally(() => {
        writing.delete(batch);
        if (queue.length > 0 || (backlog.length > 0 && !closed))
          schedule(queue.length > 0 ? options.flushDelayMs : retryDelayMs);
      });
      writing.add(batch);
    };
    if (delayMs === 0) {
      const immediate = setImmediate(run);
      timer = { cancel: () => clearImmediate(immediate) };
    } else {
      const timeout = setTimeout(run, delayMs);
      timer = { cancel: () => clearTimeout(timeout) };
    }
  };

  const writeNow = (): void => {
    if (timer === undefined || writing.size >= maxConcurrent) return;
    timer.cancel();
    timer = undefined;
    schedule(0);
  };

  async function writeBatch(): Promise<void> {
    const taken: Waiting[] = [];
    const kept = backlog;
    backlog = [];
    let events = kept.length;
    while (queue.length > 0 && (taken.length === 0 || events < options.maxBatchEvents)) {
      const next = queue.shift();
      if (next === undefined) break;
      taken.push(next);
      events += next.records.length;
      queuedEvents -= next.records.length;
    }
    const records = [...kept, ...taken.flatMap((waiting) => waiting.records)];
    if (records.length === 0) return;
    try {
      // `set_config(…, true)` lasts for this statement's own transaction, and PostgreSQL reads
      // synchronous_commit when that transaction commits: one round trip either way.
      // One statement text whatever the batch: PostgreSQL parses and plans it once per connection.
      await options.db.query(
        prepared(sql`with stored as (${insertAuditRows(auditRowsJson(records))})${
          options.ledger ? sql`, leaves as (${auditLedgerEntries(records)})` : sql``
        }
          select count(*) as stored${asyncCommit} from stored`),
      );
    } catch (error) {
      failed(error, records, kept, taken);
      return;
    }
    stats.batches += 1;
    stats.events += records.length;
    for (const waiting of taken) waiting.resolve();
    for (const forward of options.forwarders ?? []) forward(records);
  }

  function failed(error: unknown, records: AuditRecord[], kept: AuditRecord[], taken: Waiting[]): void {
    stats.failedBatches += 1;
    options.onFailure?.(error, records.length);
    const keep =
      options.failureMode === 'fail-open' && records.length + backlog.length <= maxBacklog && !closed;
    options.logger.error(
      { err: error, events: records.length, kept: keep },
      keep
        ? 'the audit sink could not store a batch; requests are served and the events kept for retry'
        : 'the audit sink could not store a batch; its requests are refused',
    );
    if (keep) {
      backlog = [...records, ...backlog];
      for (const waiting of taken) waiting.resolve();
      return;
    }
    // What was kept for retry is refused with this batch's requests: log it whole so that the
    // operator still has it (never silently dropped).
    if (kept.length > 0)
      options.logger.error({ auditEvents: kept.map((record) => record.event) }, 'audit events not stored');
    const refusal = fhirError(
      'unavailable',
      'transient',
      'The audit record of this request could not be stored; try again later',
    );
    for (const waiting of taken) waiting.reject(refusal);
  }

  return {
    record(records) {
      if (closed) {
        return Promise.reject(fhirError('unavailable', 'transient', 'The server is shutting down'));
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ records, resolve, reject });
        queuedEvents += records.length;
        if (queuedEvents >= options.maxBatchEvents) writeNow();
        schedule(options.flushDelayMs);
      });
    },
    stats() {
      return { ...stats, pending: queuedEvents + backlog.length };
    },
    async close() {
      closed = true;
      while (writing.size > 0 || timer !== undefined || queue.length > 0) {
        writeNow();
        schedule(0);
        await (writing.size > 0 ? Promise.race(writing) : new Promise((resolve) => setImmediate(resolve)));
      }
      // One last attempt for what fail-open kept; failing that, the log keeps it (`failed`).
      if (backlog.length > 0) await writeBatch();
    },
  };
}
