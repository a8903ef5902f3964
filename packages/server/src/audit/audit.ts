/**
 * The audit, assembled (DESIGN.md D7): what main.ts wires into the store (the write recorder), the
 * core (the interaction observer, the AuditEvent reader, the access report) and the identity
 * module (sign-in events), all sharing one batched sink. Switched off (`CONCORDIA_AUDIT=off`, for
 * benchmarks only) it records nothing and AuditEvent searches find nothing.
 */
import type { Logger } from 'pino';
import type { AuditConfig } from '../config.ts';
import type { InteractionObserver } from '../fhir/interaction-observer.ts';
import type { FhirOperation } from '../fhir/operations.ts';
import type { ReadOnlyResourceType } from '../fhir/routes.ts';
import type { Database } from '../store/database.ts';
import type { VersionRecorder } from '../store/port.ts';
import { accessReportOperation } from './access-report.ts';
import type { AccessSpool } from './access-spool.ts';
import type { AuditSource } from './audit-event.ts';
import { auditEventResourceType } from './audit-event-reader.ts';
import { type AuditForwarder, type AuditSink, createAuditSink } from './audit-sink.ts';
import { CommittedWriteEvents } from './committed-write-events.ts';
import { interactionAudit } from './interaction-audit.ts';
import { type SignInAudit, signInAudit } from './sign-in-audit.ts';
import { syslogExport } from './syslog-export.ts';
import { writeAuditRecorder } from './write-audit-recorder.ts';

export interface AuditDeps {
  db: Database;
  config: AuditConfig;
  /** The node's FHIR base URL: `source.observer` of every event. */
  fhirBase: string;
  /** Whether every AuditEvent also becomes a ledger leaf (`config.ledger.enabled`). */
  ledger: boolean;
  /** The node's access-log spool (`openNodeSpool`); without one, answered rows wait in memory only. */
  spool?: AccessSpool;
  logger: Logger;
}

/** `AuditEvent.source` of this node. */
export function auditSourceOf(config: AuditConfig, fhirBase: string): AuditSource {
  return { observer: fhirBase, ...(config.site !== undefined ? { site: config.site } : {}) };
}

export interface Audit {
  /** For `createResourceStore({ recorders })`. */
  recorders: readonly VersionRecorder[];
  /** For `createFhirCore({ observers })`. */
  observers: readonly InteractionObserver[];
  /** For `createFhirCore({ readOnlyTypes })`: AuditEvent read and search. */
  readOnlyTypes: readonly ReadOnlyResourceType[];
  /** For `createFhirCore({ operations })`: `Patient/{id}/$access-report`. */
  operations: readonly FhirOperation[];
  /** For the identity module. */
  signIns: SignInAudit;
  sink: AuditSink;
  /** Writes what is queued (graceful shutdown, before the database closes). */
  close(): Promise<void>;
}

export function createAudit(deps: AuditDeps): Audit {
  const { config, logger } = deps;
  const source = auditSourceOf(config, deps.fhirBase);
  // The optional syslog copy (syslog-export.ts): batches once stored, writes once committed.
  const syslog =
    config.syslogUrl === undefined
      ? undefined
      : syslogExport({
          url: config.syslogUrl,
          ...(config.syslogCaFile !== undefined ? { caFile: config.syslogCaFile } : {}),
          hostname: new URL(deps.fhirBase).hostname,
          logger,
        });
  const forwarders: AuditForwarder[] = syslog === undefined ? [] : [(records) => syslog.send(records)];
  const committedWrites = syslog === undefined ? undefined : new CommittedWriteEvents();
  const sink = createAuditSink({
    db: deps.db,
    source,
    ledger: deps.ledger,
    failureMode: config.failureMode,
    readWait: config.reads,
    ...(deps.spool !== undefined ? { spool: deps.spool } : {}),
    maxPendingMs: config.maxPendingMs,
    spooledFlushMs: config.spooledFlushMs,
    maxBatchEvents: config.batchMaxEvents,
    flushDelayMs: config.flushDelayMs,
    commit: config.commit,
    // PostgreSQL can commit batches side by side on its pool (PGlite runs one statement at a
    // time). With `CONCORDIA_AUDIT_READS=committed` a read waits for its batch's WAL flush, so at a
    // fixed number of clients throughput is clients ÷ that wait: measured with ten clients (HTTP
    // bench, read), audited reads ran at 35% of unaudited with two batches in flight, 42% with
    // four, 49% with eight. Four leave the other half of the default pool (10) to reads and writes.
    maxConcurrentBatches: deps.db.kind === 'postgres' ? 4 : 1,
    logger,
    forwarders,
  });
  const settle = (): Promise<void> => sink.flush();
  if (!config.enabled) {
    return {
      recorders: [],
      observers: [],
      readOnlyTypes: [auditEventResourceType(deps.db)],
      operations: [accessReportOperation(deps.db)],
      signIns: signInAudit(undefined, source),
      sink,
      close: () => sink.close(),
    };
  }
  return {
    recorders: [
      writeAuditRecorder(
        source,
        deps.ledger,
        committedWrites === undefined
          ? undefined
          : (requestId, record) => committedWrites.hold(requestId, record),
      ),
    ],
    observers: [
      interactionAudit({
        sink,
        logger,
        ...(committedWrites !== undefined && syslog !== undefined
          ? {
              answered: ({ ctx, response }) =>
                syslog.send(committedWrites.release(ctx.requestId, response.status < 400)),
            }
          : {}),
      }),
    ],
    readOnlyTypes: [auditEventResourceType(deps.db, settle)],
    operations: [accessReportOperation(deps.db, settle)],
    signIns: signInAudit(sink, source),
    sink,
    async close() {
      await sink.close();
      await syslog?.close();
    },
  };
}
