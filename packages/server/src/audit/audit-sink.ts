/**
 * Durable, batched storage of the audit of requests that write nothing: group commit. Requests the
 * core answers hand over an access-log row (access-log.ts: reads, searches, operations, refusals),
 * sign-ins a full AuditEvent. Entries that arrive while a batch is being written go into the next
 * one, so under load one statement carries many requests' entries with their ledger entry (one
 * leaf per access-log batch, access-log-batches.ts).
 *
 * When a request is answered (`readWait`, docs/audit-and-ledger.md "When a read is answered"):
 * - `spooled` (default): once its row is written to the node's spool file (access-spool.ts: one
 *   write for the rows of a turn of the event loop). No request waits for a database round trip;
 *   the rows commit in batches at most `spooledFlushMs` later, and a crash before that leaves
 *   them in the spool for the next start.
 * - `committed`: once its batch is committed (every request pays the commit's wait).
 * Sign-in events always wait for their commit.
 *
 * When the database refuses a batch:
 * - `fail-closed` (default): requests still waiting fail with 503, and while no batch has
 *   succeeded since (or rows answered earlier wait longer than `maxPendingMs`) new requests are
 *   refused before they are answered — a clinical read that cannot be recorded is not served;
 * - `fail-open`: requests are answered, and every failure is logged at error level and counted
 *   (the alarm). Past `maxBacklog` kept rows the sink fails closed anyway.
 * Rows of requests already answered are never given up: they are kept and retried (and are in the
 * spool meanwhile). `close()` writes whatever is queued (graceful shutdown).
 */
import { fhirError } from '@concordia/fhir';
import type { Logger } from 'pino';
import type { SqlExecutor } from '../store/database.ts';
import { readNumber } from '../store/rows.ts';
import { cteList, prepared, type Sql, sql } from '../store/sql.ts';
import {
  type AccessRow,
  accessAuditRecord,
  decodeAccessRow,
  type EncodedAccessRow,
  encodeAccessRow,
} from './access-log.ts';
import { accessBatchCtes } from './access-log-batches.ts';
import type { AccessSpool, SpoolMark } from './access-spool.ts';
import type { AuditSource } from './audit-agents.ts';
import type { AuditRecord } from './audit-event.ts';
import { auditRowsJson, insertAuditRows } from './audit-rows.ts';
import { auditLedgerEntries } from './ledger-leaves.ts';

export type AuditFailureMode = 'fail-closed' | 'fail-open';

/** What an answered read has waited for (config.ts `AuditConfig.reads`). */
export type AuditReadWait = 'spooled' | 'committed';

/** A destination told of every committed batch besides the database (the syslog export). */
export type AuditForwarder = (records: readonly AuditRecord[]) => void;

export interface AuditSinkOptions {
  db: SqlExecutor;
  /** This node: the `source` of the access-log batches it writes. */
  source: AuditSource;
  /** Whether each event also becomes a ledger leaf (the ledger is on). */
  ledger: boolean;
  failureMode: AuditFailureMode;
  /** `spooled` (default): requests are answered once their row is in `spool`, not in the database. */
  readWait?: AuditReadWait;
  /**
   * The node's spool (access-spool.ts). Without one (an in-memory database, which a crash loses
   * anyway) rows nobody waits for are kept in memory only.
   */
  spool?: AccessSpool;
  /** Most events in one insert. */
  maxBatchEvents: number;
  /**
   * How long the first waited-for event of a batch waits for others before the batch is written;
   * 0: the batch leaves as soon as the current turn of the event loop ends (and whenever the
   * previous batch is still being written, the next one fills up meanwhile anyway).
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
  /** Most events kept for retry before the sink refuses requests (default 100,000). */
  maxBacklog?: number;
  /** How long a row nobody waits for lingers for company (default 20 ms). */
  spooledFlushMs?: number;
  /** fail-closed: answered rows older than this uncommitted make the sink refuse requests (default 2 s). */
  maxPendingMs?: number;
  /** How long to wait before retrying a failed batch. */
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
  /** Events waiting (queued, being written or kept for retry). */
  pending: number;
}

export interface AuditSink {
  /** Resolves once `records` are committed (fail-open: or kept for retry); rejects with 503 otherwise. */
  record(records: readonly AuditRecord[]): Promise<void>;
  /**
   * The same for one access-log row (access-log.ts): a request that wrote nothing. `spooled`: resolves
   * once the row is in the spool (or refuses the request with 503 while the sink is failing).
   */
  recordAccess(row: AccessRow): Promise<void>;
  /**
   * A row nobody waits for even with `committed` (interaction-audit.ts: master data lookups): it
   * may linger up to `spooledFlushMs` so that it shares a batch with many others.
   */
  deferAccess(row: AccessRow): Promise<void>;
  /** Resolves once every entry handed over before the call is committed (or has failed). */
  flush(): Promise<void>;
  stats(): AuditSinkStats;
  /** Writes what is queued, then refuses new events. */
  close(): Promise<void>;
}

/** One request's entries: full events (sign-ins) or one compact access-log row. */
interface Entry {
  records: readonly AuditRecord[];
  access?: EncodedAccessRow;
  /** Where `access` was spooled. */
  mark?: SpoolMark;
  /** Answered already: a failure cannot refuse it any more, so its row is kept and retried. */
  answered: boolean;
  /** When it was handed over (`maxPendingMs`). */
  since: number;
  /** A `flush()` waiting for everything before it. */
  barrier?: true;
  resolve(): void;
  reject(error: unknown): void;
}

const NO_RECORDS: readonly AuditRecord[] = [];
const nothing = (): void => {};

export function createAuditSink(options: AuditSinkOptions): AuditSink {
  const maxBacklog = options.maxBacklog ?? 100_000;
  const maxPendingMs = options.maxPendingMs ?? 2000;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const readWait = options.readWait ?? 'spooled';
  const spooledFlushMs = options.spooledFlushMs ?? 20;
  const queue: Entry[] = [];
  let queuedEvents = 0;
  /** Queued entries a request waits for: while there are any, batches leave without lingering. */
  let waitedFor = 0;
  /** Answered entries of failed batches, written before anything newer. */
  let backlog: Entry[] = [];
  let backlogEvents = 0;
  /** Events of the batches being written. */
  let inFlightEvents = 0;
  /** The handover time of the oldest entry of each batch being written. */
  const writingSince = new Map<Promise<void>, number>();
  /** A batch failed and none has committed since. */
  let failing = false;
  const maxConcurrent = options.maxConcurrentBatches ?? 1;
  const asyncCommit =
    options.commit === 'async' ? sql`, set_config('synchronous_commit', 'off', true) as commit_mode` : sql``;
  const writing = new Set<Promise<void>>();
  let timer: { delayMs: number; cancel(): void } | undefined;
  let closed = false;
  const stats = { batches: 0, events: 0, failedBatches: 0 };
  const sizeOf = (entry: Entry): number => entry.records.length + (entry.access === undefined ? 0 : 1);

  const schedule = (delayMs: number): void => {
    if (writing.size >= maxConcurrent) return;
    if (timer !== undefined) {
      if (delayMs >= timer.delayMs) return;
      timer.cancel();
      timer = undefined;
    }
    const run = (): void => {
      timer = undefined;
      let since: number | undefined;
      const batch: Promise<void> = writeBatch((oldest) => {
        since = oldest;
      }).finally(() => {
        writing.delete(batch);
        writingSince.delete(batch);
        if (queue.length > 0) schedule(nextDelay());
        else if (backlog.length > 0 && !closed) schedule(retryDelayMs);
      });
      writing.add(batch);
      if (since !== undefined) writingSince.set(batch, since);
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
    waitedFor > 0 || closed ? options.flushDelayMs : Math.max(options.flushDelayMs, spooledFlushMs);

  const writeNow = (): void => {
    if (timer === undefined || writing.size >= maxConcurrent) return;
    timer.cancel();
    timer = undefined;
    schedule(0);
  };

  /**
   * Takes the next batch: kept entries first, then the queue, up to `maxBatchEvents`, and only rows
   * of one spool file (a batch row names one). Runs synchronously up to the statement.
   */
  function take(): Entry[] {
    const taken: Entry[] = [];
    let events = 0;
    let spool: string | undefined;
    // Entries leave their array in one splice: `shift()` per entry moves the rest every time.
    const takeFrom = (source: Entry[], queued: boolean): boolean => {
      let count = 0;
      let complete = true;
      for (const next of source) {
        const size = sizeOf(next);
        if (taken.length > 0 && events + size > options.maxBatchEvents) {
          complete = false;
          break;
        }
        if (next.mark !== undefined) {
          if (spool !== undefined && next.mark.spool !== spool) {
            complete = false;
            break;
          }
          spool = next.mark.spool;
        }
        count += 1;
        taken.push(next);
        events += size;
        if (queued) {
          queuedEvents -= size;
          if (!next.answered) waitedFor -= 1;
        } else backlogEvents -= size;
      }
      source.splice(0, count);
      return complete;
    };
    if (takeFrom(backlog, false)) takeFrom(queue, true);
    return taken;
  }

  async function writeBatch(started: (oldest: number) => void): Promise<void> {
    const earlier = [...writing];
    const taken = take();
    const first = taken[0];
    if (first !== undefined) started(first.since);
    const records = taken.flatMap((entry) => entry.records);
    const accesses: EncodedAccessRow[] = [];
    const marks: SpoolMark[] = [];
    for (const entry of taken) {
      if (entry.access !== undefined) accesses.push(entry.access);
      if (entry.mark !== undefined) marks.push(entry.mark);
    }
    const events = records.length + accesses.length;
    let accessBatch: number | undefined;
    if (events > 0) {
      inFlightEvents += events;
      try {
        const [row] = await options.db.query(batchStatement(records, accesses, marks));
        accessBatch = accesses.length > 0 && row !== undefined ? readNumber(row, 'batch') : undefined;
      } catch (error) {
        inFlightEvents -= events;
        failed(error, taken, events);
        await settleBarriers(taken, earlier);
        return;
      }
      inFlightEvents -= events;
      failing = false;
      stats.batches += 1;
      stats.events += events;
      options.spool?.committed(marks);
    }
    for (const entry of taken) if (entry.barrier === undefined) entry.resolve();
    await settleBarriers(taken, earlier);
    const forwarders = options.forwarders ?? [];
    if (forwarders.length === 0 || events === 0) return;
    // The access log keeps facts; a forwarder gets the AuditEvents they stand for, ids included.
    const forwarded =
      accessBatch === undefined
        ? records
        : [
            ...records,
            ...accesses.map((access, position) =>
              accessAuditRecord(decodeAccessRow(access), { batch: accessBatch, position }, options.source),
            ),
          ];
    for (const forward of forwarders) forward(forwarded);
  }

  /** A `flush()` resolves once the batches written before its own have settled too. */
  async function settleBarriers(taken: readonly Entry[], earlier: readonly Promise<void>[]): Promise<void> {
    const barriers = taken.filter((entry) => entry.barrier !== undefined);
    if (barriers.length === 0) return;
    await Promise.allSettled(earlier);
    for (const barrier of barriers) barrier.resolve();
  }

  /**
   * One statement for the whole batch; its text depends only on which kinds it carries, so
   * PostgreSQL parses and plans each shape once per connection. `set_config(…, true)` lasts for
   * this statement's own transaction, and PostgreSQL reads synchronous_commit when that
   * transaction commits: one round trip either way.
   */
  function batchStatement(
    records: readonly AuditRecord[],
    accesses: readonly EncodedAccessRow[],
    marks: readonly SpoolMark[],
  ): Sql {
    const events =
      records.length === 0
        ? undefined
        : sql`stored as (${insertAuditRows(auditRowsJson(records))})${
            options.ledger ? sql`, leaves as (${auditLedgerEntries(records)})` : sql``
          }`;
    const spooled =
      marks[0] === undefined ? undefined : { spool: marks[0].spool, lines: marks.map((mark) => mark.line) };
    const access =
      accesses.length === 0
        ? undefined
        : cteList(
            accessBatchCtes(
              accesses,
              options.source,
              options.ledger,
              spooled === undefined ? {} : { spooled },
            ),
          );
    if (access === undefined)
      return prepared(sql`with ${events ?? sql``} select count(*) as stored${asyncCommit} from stored`);
    if (events === undefined)
      return prepared(sql`with ${access} select id as batch${asyncCommit} from access_batch`);
    return prepared(sql`with ${events}, ${access} select id as batch${asyncCommit} from access_batch`);
  }

  function failed(error: unknown, taken: readonly Entry[], events: number): void {
    failing = true;
    stats.failedBatches += 1;
    options.onFailure?.(error, events);
    const openMode = options.failureMode === 'fail-open' && !closed;
    const kept: Entry[] = [];
    const refused: Entry[] = [];
    const dropped: Entry[] = [];
    let keptEvents = backlogEvents;
    for (const entry of taken) {
      if (entry.barrier !== undefined) continue;
      const size = sizeOf(entry);
      // An answered request's row is kept whatever the mode: it cannot be refused any more.
      const keep = (entry.answered || openMode) && keptEvents + size <= maxBacklog;
      if (keep) {
        kept.push(entry);
        keptEvents += size;
      } else if (entry.answered) dropped.push(entry);
      else refused.push(entry);
    }
    options.logger.error(
      { err: error, events, kept: kept.length, refused: refused.length },
      'the audit sink could not store a batch; answered requests are kept for retry, waiting ones refused',
    );
    backlog = [...kept, ...backlog];
    backlogEvents = keptEvents;
    // Waiting requests of fail-open are answered; answered ones stay kept.
    for (const entry of kept) {
      if (!entry.answered) {
        entry.answered = true;
        entry.resolve();
      }
    }
    if (dropped.length > 0) {
      // Past the backlog limit: logged whole so that the operator still has them (never silently).
      options.logger.error(
        {
          auditEvents: dropped.flatMap((entry) => entry.records.map((record) => record.event)),
          accessLog: dropped.flatMap((entry) =>
            entry.access === undefined ? [] : [decodeAccessRow(entry.access)],
          ),
        },
        'audit events not stored',
      );
      for (const entry of dropped) entry.reject(unavailable());
    }
    for (const entry of refused) entry.reject(unavailable());
  }

  /** The handover time of the oldest entry not committed yet. */
  function oldestPending(): number | undefined {
    let oldest = backlog[0]?.since ?? queue[0]?.since;
    for (const since of writingSince.values()) if (oldest === undefined || since < oldest) oldest = since;
    return oldest;
  }

  const push = (queued: Entry): void => {
    queue.push(queued);
    queuedEvents += sizeOf(queued);
    if (!queued.answered) waitedFor += 1;
    if (queuedEvents >= options.maxBatchEvents) writeNow();
    schedule(queued.barrier === undefined ? nextDelay() : 0);
  };

  const closing = (): Promise<void> =>
    Promise.reject(fhirError('unavailable', 'transient', 'The server is shutting down'));

  /** An entry a request (or `flush()`) waits for. */
  const enqueue = (entry: Omit<Entry, 'since' | 'resolve' | 'reject' | 'answered'>): Promise<void> => {
    if (closed) return closing();
    return new Promise<void>((resolve, reject) => {
      push({ ...entry, answered: false, since: performance.now(), resolve, reject });
    });
  };

  /** The row of a request answered already: nobody waits for it, so no promise is made. */
  const enqueueAnswered = (access: EncodedAccessRow, mark?: SpoolMark): void => {
    push({
      records: NO_RECORDS,
      access,
      ...(mark !== undefined ? { mark } : {}),
      answered: true,
      since: performance.now(),
      resolve: nothing,
      reject: nothing,
    });
  };

  /**
   * fail-closed: while a batch has failed and none committed since, or answered rows wait longer
   * than `maxPendingMs`, a request is not answered before its own row is committed (and is refused
   * with 503 if that fails): the sink has to show again that it stores rows.
   */
  function mustWait(): boolean {
    if (options.failureMode === 'fail-open') return false;
    if (failing) return true;
    const oldest = oldestPending();
    return oldest !== undefined && performance.now() - oldest > maxPendingMs;
  }

  /** A row whose request is answered now: spooled first, so that a crash cannot lose it. */
  const answer = (row: AccessRow, lookup: boolean): Promise<void> => {
    if (closed) return closing();
    if (backlogEvents + queuedEvents + inFlightEvents >= maxBacklog) return Promise.reject(unavailable());
    const access = encodeAccessRow(row);
    if (!lookup && mustWait()) return enqueue({ records: NO_RECORDS, access });
    const spool = options.spool;
    if (spool === undefined) {
      enqueueAnswered(access);
      return Promise.resolve();
    }
    const { mark, written } = spool.append(access.json);
    return written.then(
      () => {
        // Closed meanwhile: the row stays in the spool file, and the next start stores it.
        if (!closed) enqueueAnswered(access, mark);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, 'the audit spool could not be written; the request is refused');
        throw unavailable();
      },
    );
  };

  return {
    record: (records) => enqueue({ records }),
    recordAccess: (row) =>
      readWait === 'spooled'
        ? answer(row, false)
        : enqueue({ records: NO_RECORDS, access: encodeAccessRow(row) }),
    deferAccess: (row) => answer(row, true),
    flush: () => enqueue({ records: NO_RECORDS, barrier: true }),
    stats() {
      return { ...stats, pending: queuedEvents + backlogEvents + inFlightEvents };
    },
    async close() {
      closed = true;
      while (writing.size > 0 || timer !== undefined || queue.length > 0) {
        writeNow();
        schedule(0);
        await (writing.size > 0 ? Promise.race(writing) : new Promise((resolve) => setImmediate(resolve)));
      }
      // One last attempt for what was kept; failing that, the log (`failed`) and the spool keep it.
      if (backlog.length > 0) await writeBatch(nothing);
      options.spool?.close();
    },
  };
}

function unavailable(): Error {
  return fhirError(
    'unavailable',
    'transient',
    'The audit record of this request could not be stored; try again later',
  );
}
