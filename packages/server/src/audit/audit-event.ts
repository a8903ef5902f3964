/**
 * Builds one AuditEvent (http://hl7.org/fhir/R4/auditevent.html) in the IHE Basic Audit Log
 * Patterns shape (https://profiles.ihe.net/ITI/BALP/) from the facts of what happened, and the
 * compact values the `audit_event` table keeps beside it for searches. Every producer — the write
 * recorder, the interaction observer, the sign-in events — goes through here, so every event names
 * its agents, source, entities and purpose the same way.
 */
import { randomUUID } from 'node:crypto';
import {
  type AuditContext,
  type AuditSource,
  agentsOf,
  type ClaimedUser,
  purposeOf,
} from './audit-agents.ts';
import {
  APPLICATION_SERVER,
  type AuditAction,
  type AuditOutcome,
  BREAK_THE_GLASS_LABEL,
  BREAK_THE_GLASS_PURPOSES,
  type Coding,
  DATA_ENTITY,
  PATIENT_ENTITY,
  QUERY_ENTITY,
} from './balp-codes.ts';

/** What happened, as the producers know it. */
export interface AuditFacts {
  ctx: AuditContext;
  /** FHIR instant of the event. */
  recorded: string;
  type: Coding;
  subtypes: readonly Coding[];
  action: AuditAction;
  outcome: AuditOutcome;
  /** Why it failed (the OperationOutcome's diagnostics), or what succeeded. */
  outcomeDescription?: string;
  /** The resources involved: `Type/id`, `Type/id/_history/n`, or `Type` for a type-level request. */
  entities: readonly string[];
  /** The query of a search or operation as sent (`name=value&…`); recorded base64 (BALP entity[query]). */
  query?: string;
  /** `Patient/<id>` of every patient the event is about. */
  patients: readonly string[];
  /**
   * Who signed in, or tried to, when no token stands for them yet (sign-in events): the account id
   * or the user name typed, with the account's FHIR resource and roles once it is known.
   */
  claimedUser?: ClaimedUser;
}

export type { AuditContext, AuditSource, ClaimedUser } from './audit-agents.ts';

/** One event ready to store: its JSON and the columns `audit_event` searches on. */
export interface AuditRecord {
  id: string;
  recorded: string;
  type: string;
  subtype: string[];
  action: AuditAction;
  outcome: AuditOutcome;
  agent: string[];
  patient: string[];
  entity: string[];
  sourceIp: string | null;
  breakGlass: boolean;
  /** The AuditEvent, `id` set, and the same as JSON (serialised once). */
  event: Readonly<Record<string, unknown>>;
  /**
   * RFC 8785 canonical JSON: keys sorted, and every value a string, a boolean, an object or an
   * array (no numbers), so `JSON.stringify` of the sorted object already is the canonical form.
   * The ledger hashes it as stored, with no second serialisation on the request path.
   */
  json: string;
}

/**
 * The access was an emergency access (break-the-glass): flagged by the door (access/
 * break-the-glass.ts), or declared by purpose of use alone.
 */
export function isBreakTheGlass(ctx: AuditContext): boolean {
  return (
    ctx.breakTheGlass !== undefined ||
    (ctx.purposeOfUse !== undefined && BREAK_THE_GLASS_PURPOSES.has(ctx.purposeOfUse))
  );
}

export function auditRecord(facts: AuditFacts, source: AuditSource): AuditRecord {
  return auditRecordWithId(randomUUID(), facts, source);
}

/**
 * The event of `facts` under a given id: also how the access log's compact rows become AuditEvents
 * again (access-log.ts), so a materialised event is the one that would have been stored.
 */
export function auditRecordWithId(id: string, facts: AuditFacts, source: AuditSource): AuditRecord {
  const { ctx } = facts;
  const breakGlass = isBreakTheGlass(ctx);
  const agents = agentsOf(ctx, facts.claimedUser, source);
  const patients = [...new Set(facts.patients)];
  const entities = [...new Set(facts.entities)];
  const event = {
    resourceType: 'AuditEvent',
    id,
    ...(breakGlass ? { meta: { security: [BREAK_THE_GLASS_LABEL] } } : {}),
    type: facts.type,
    subtype: facts.subtypes,
    action: facts.action,
    recorded: facts.recorded,
    outcome: facts.outcome,
    ...(facts.outcomeDescription !== undefined ? { outcomeDesc: facts.outcomeDescription } : {}),
    ...(ctx.purposeOfUse !== undefined
      ? { purposeOfEvent: [purposeOf(ctx.purposeOfUse, ctx.breakTheGlass?.reason)] }
      : {}),
    agent: agents.map((agent) => agent.element),
    source: {
      ...(source.site !== undefined ? { site: source.site } : {}),
      observer: { display: source.observer },
      type: [APPLICATION_SERVER],
    },
    entity: [
      ...entities.map((reference) => ({ what: { reference }, ...DATA_ENTITY })),
      ...(facts.query !== undefined && facts.query !== ''
        ? [{ ...QUERY_ENTITY, query: Buffer.from(facts.query, 'utf8').toString('base64') }]
        : []),
      ...patients.map((reference) => ({ what: { reference }, ...PATIENT_ENTITY })),
      // BALP entity[transaction]: the request id correlates this event with the server's logs.
      {
        what: { identifier: { value: ctx.requestId } },
        type: {
          system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType',
          code: 'XrequestId',
        },
      },
    ],
  };
  return {
    id,
    recorded: facts.recorded,
    type: facts.type.code,
    subtype: facts.subtypes.map((coding) => coding.code),
    action: facts.action,
    outcome: facts.outcome,
    agent: agents.flatMap((agent) => agent.keys),
    patient: patients,
    // `AuditEvent?entity=Observation/1` finds the events of every version of it.
    entity: [
      ...new Set(entities.flatMap((reference) => [reference, reference.replace(/\/_history\/.*$/, '')])),
    ],
    sourceIp: ctx.sourceIp ?? null,
    breakGlass,
    event,
    json: JSON.stringify(sortedKeys(event)),
  };
}

/** A copy of `value` with the keys of every object in code-unit order (RFC 8785 §3.2.3). */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortedKeys(Reflect.get(value, key));
  return sorted;
}
