/**
 * Sign-in events in the BALP Login/Logout shape (DICOM 110114 User Authenticated, subtype 110122
 * Login or 110123 Logout, action E): a person's password step, second factor (TOTP) and its
 * enrolment, a client's token request (client credentials, SMART Backend Services), each success
 * and failure, and signing out (ending a session, revoking a token). The identity module calls these and waits for the event to be
 * stored before it answers, like every other audited request.
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../access/request-context.ts';
import { type AuditSource, auditRecord, type ClaimedUser } from './audit-event.ts';
import type { AuditSink } from './audit-sink.ts';
import { type Coding, LOGIN, LOGOUT, USER_AUTHENTICATED } from './balp-codes.ts';

export const SIGN_IN_STEP = 'https://concordia.example/fhir/CodeSystem/sign-in-step';

/**
 * `password`, `totp`, `totp-enrolment`: a person's steps; `client-credentials`: a client's token
 * request; `logout`: a person ended their session (RP-Initiated Logout); `token-revocation`: a
 * client revoked a token (RFC 7009), which ends the grant it belonged to. The last two are Logout
 * events.
 */
export type SignInStep =
  | 'password'
  | 'totp'
  | 'totp-enrolment'
  | 'client-credentials'
  | 'logout'
  | 'token-revocation';

const LOGOUT_STEPS: ReadonlySet<SignInStep> = new Set(['logout', 'token-revocation']);

export interface SignInAttempt {
  step: SignInStep;
  succeeded: boolean;
  /** The account (or the user name typed, when no account matched). */
  user?: ClaimedUser;
  /** The OAuth client the person signs in to, or that asks for a token. */
  clientId?: string;
  /** Why it failed, in words an auditor reads (never the password or code). */
  reason?: string;
  sourceIp?: string;
  userAgent?: string;
}

export interface SignInAudit {
  /** Resolves once the event is stored; rejects (fail closed) when it cannot be. */
  record(attempt: SignInAttempt): Promise<void>;
}

/** `sink` undefined: the audit is switched off and nothing is recorded. */
export function signInAudit(sink: AuditSink | undefined, source: AuditSource): SignInAudit {
  return {
    async record(attempt) {
      if (sink === undefined) return;
      const ctx: RequestContext = {
        // No token stands for the actor yet: the agent is the claimed user or client.
        principal: { kind: 'anonymous' },
        ...(attempt.clientId !== undefined ? { clientId: attempt.clientId } : {}),
        ...(attempt.sourceIp !== undefined ? { sourceIp: attempt.sourceIp } : {}),
        ...(attempt.userAgent !== undefined ? { userAgent: attempt.userAgent } : {}),
        requestId: `sign-in-${randomUUID()}`,
      };
      const subtypes: Coding[] = [
        LOGOUT_STEPS.has(attempt.step) ? LOGOUT : LOGIN,
        { system: SIGN_IN_STEP, code: attempt.step },
      ];
      const record = auditRecord(
        {
          ctx,
          recorded: new Date().toISOString(),
          type: USER_AUTHENTICATED,
          subtypes,
          action: 'E',
          outcome: attempt.succeeded ? '0' : '4',
          ...(attempt.reason !== undefined ? { outcomeDescription: attempt.reason } : {}),
          entities: [],
          patients: attempt.user?.fhirUser?.startsWith('Patient/') === true ? [attempt.user.fhirUser] : [],
          ...(attempt.user !== undefined ? { claimedUser: attempt.user } : {}),
        },
        source,
      );
      await sink.record([record]);
    },
  };
}
