/**
 * The audit events of writes reach the syslog export only once their transaction committed. They
 * are built inside the write statement (write-audit-recorder.ts), before anyone knows whether it
 * will commit, so they wait here under their request id until the core has answered the request
 * (interaction-audit.ts): a success means committed, a failure means rolled back. A transaction
 * Bundle's versions share its request id and leave together.
 */
import type { AuditRecord } from './audit-event.ts';

/** Requests whose answer never came (a write outside the core): the oldest are forgotten past this. */
const MAX_REQUESTS = 10_000;

export class CommittedWriteEvents {
  private readonly waiting = new Map<string, AuditRecord[]>();

  hold(requestId: string, record: AuditRecord): void {
    const records = this.waiting.get(requestId);
    if (records !== undefined) records.push(record);
    else {
      this.waiting.set(requestId, [record]);
      if (this.waiting.size > MAX_REQUESTS) {
        const oldest = this.waiting.keys().next().value;
        if (oldest !== undefined) this.waiting.delete(oldest);
      }
    }
  }

  /** The events of a request that succeeded; none (and forgotten) when it failed. */
  release(requestId: string, succeeded: boolean): AuditRecord[] {
    const records = this.waiting.get(requestId) ?? [];
    this.waiting.delete(requestId);
    return succeeded ? records : [];
  }
}
