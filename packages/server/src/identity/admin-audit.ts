/**
 * The audit of the admin API (admin-door.ts): every call, allowed or refused, is one AuditEvent
 * stored before the answer leaves, like every other door's requests (audit/audit-event.ts).
 *
 * BALP has no pattern for administration, so the event is a DICOM Security Alert (110113) whose
 * subtypes say what changed in DICOM's words — 110137 User Security Attributes Changed for
 * accounts, 110135 Object Security Attributes Changed for client applications — followed by the
 * admin operation itself in Concordia's code system (`user-disable`, `client-rotate-secret`, …).
 * The agent is the calling administrator (or client); the account or client acted on is named in
 * `outcomeDesc`, as these are not FHIR resources an `entity` could reference.
 */
import type { AuditContext, AuditSource } from '../audit/audit-event.ts';
import { auditRecord } from '../audit/audit-event.ts';
import type { AuditSink } from '../audit/audit-sink.ts';
import { type AuditAction, type Coding, DICOM, outcomeOfStatus } from '../audit/balp-codes.ts';

export const ADMIN_OPERATION = 'https://concordia.example/fhir/CodeSystem/admin-operation';

const SECURITY_ALERT: Coding = { system: DICOM, code: '110113', display: 'Security Alert' };
const USER_ATTRIBUTES_CHANGED: Coding = {
  system: DICOM,
  code: '110137',
  display: 'User Security Attributes Changed',
};
const OBJECT_ATTRIBUTES_CHANGED: Coding = {
  system: DICOM,
  code: '110135',
  display: 'Object Security Attributes Changed',
};

export interface AdminCall {
  ctx: AuditContext;
  /** `users` or `clients`: what the call manages. */
  area: 'users' | 'clients';
  /** `user-list`, `user-create`, `client-disable`, …; `refused` when the caller was not allowed. */
  operation: string;
  action: AuditAction;
  /** The HTTP status answered. */
  status: number;
  /** What was done to whom, or why it was refused (never a password or secret). */
  description: string;
}

export interface AdminAudit {
  /** Resolves once the event is stored; rejects (fail closed) when it cannot be. */
  record(call: AdminCall): Promise<void>;
}

/** `sink` undefined: the audit is switched off and nothing is recorded. */
export function adminAudit(sink: AuditSink | undefined, source: AuditSource): AdminAudit {
  return {
    async record(call) {
      if (sink === undefined) return;
      const record = auditRecord(
        {
          ctx: call.ctx,
          recorded: new Date().toISOString(),
          type: SECURITY_ALERT,
          subtypes: [
            call.area === 'users' ? USER_ATTRIBUTES_CHANGED : OBJECT_ATTRIBUTES_CHANGED,
            { system: ADMIN_OPERATION, code: call.operation },
          ],
          action: call.action,
          outcome: outcomeOfStatus(call.status),
          outcomeDescription: call.description,
          entities: [],
          patients: [],
        },
        source,
      );
      await sink.record([record]);
    },
  };
}
