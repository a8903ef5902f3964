/**
 * The audit of requests refused for their rate (http/rate-limit.ts): a denied request is audited
 * like any other (DESIGN.md D7). A refused sign-in or token request becomes a failed BALP Login
 * event (DICOM 110114/110122, as audit/sign-in-audit.ts records sign-ins); any other a failed
 * RESTful event naming what was asked for, in the access log like every refused FHIR request.
 *
 * Only the first refusal of each key in each window is recorded, and the answer does not wait for
 * it: a refusal discloses nothing, and a flood must not become as many audit writes. Every refusal
 * is counted in `http_requests_throttled_total`; a row that cannot be stored is logged whole.
 */
import type { Logger } from 'pino';
import { accessRowOf } from '../audit/access-log.ts';
import { type AuditContext, type AuditFacts, type AuditSource, auditRecord } from '../audit/audit-event.ts';
import type { AuditSink } from '../audit/audit-sink.ts';
import { LOGIN, REST_TYPE, RESTFUL_INTERACTION, USER_AUTHENTICATED } from '../audit/balp-codes.ts';
import { type Refusal, throttledReason } from './rate-limit.ts';

export interface ThrottleAuditDeps {
  sink: AuditSink;
  /** `AuditEvent.source` of the sign-in events (the node's FHIR base, its site). */
  source: AuditSource;
  logger: Logger;
}

export function throttleAudit(deps: ThrottleAuditDeps): (refusal: Refusal) => void {
  const { sink, source, logger } = deps;
  return (refusal) => {
    if (!refusal.first) return;
    const facts = refusalFacts(refusal);
    const stored =
      refusal.budget === 'sign-in'
        ? sink.record([auditRecord(facts, source)])
        : sink.deferAccess(accessRowOf(facts));
    stored.catch((error: unknown) =>
      logger.error({ err: error, throttled: facts }, 'audit event of a throttled request not stored'),
    );
  };
}

export function refusalFacts(refusal: Refusal): AuditFacts {
  const { request, subject } = refusal;
  const userAgent = request.headers['user-agent'];
  const ctx: AuditContext = {
    principal: subject.principal ?? { kind: 'anonymous' },
    ...(subject.clientId !== undefined ? { clientId: subject.clientId } : {}),
    sourceIp: request.ip,
    requestId: String(request.id),
    ...(userAgent !== undefined ? { userAgent } : {}),
  };
  const outcomeDescription = `${throttledReason(refusal)} (${request.method} ${pathOf(request.url)}, counted as ${subject.key})`;
  if (refusal.budget === 'sign-in') {
    return {
      ctx,
      recorded: new Date().toISOString(),
      type: USER_AUTHENTICATED,
      subtypes: [LOGIN],
      action: 'E',
      outcome: '4',
      outcomeDescription,
      entities: [],
      patients: [],
    };
  }
  const target = fhirTarget(pathOf(request.url));
  return {
    ctx,
    recorded: new Date().toISOString(),
    type: REST_TYPE,
    // Refused before routing: which interaction it would have been is not known.
    subtypes: [{ system: RESTFUL_INTERACTION, code: 'unknown' }],
    action: 'E',
    outcome: '4',
    outcomeDescription,
    entities: target.entities,
    patients: target.patients,
  };
}

function pathOf(url: string): string {
  const end = url.indexOf('?');
  return end === -1 ? url : url.slice(0, end);
}

/** `Type` or `Type/id` of a FHIR URL, and the patient it names (`/fhir/Patient/1/...`). */
function fhirTarget(path: string): { entities: string[]; patients: string[] } {
  const match = /^\/fhir\/([A-Z][A-Za-z]{1,63})(?:\/([A-Za-z0-9\-.]{1,64}))?(?:\/|$)/.exec(path);
  if (match === null) return { entities: [], patients: [] };
  const [, type, id] = match;
  if (type === undefined) return { entities: [], patients: [] };
  const instance = id === undefined ? type : `${type}/${id}`;
  return { entities: [instance], patients: type === 'Patient' && id !== undefined ? [instance] : [] };
}
