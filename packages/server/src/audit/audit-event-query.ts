/**
 * `AuditEvent?…` (http://hl7.org/fhir/R4/auditevent.html#search) over the compact columns of
 * `audit_event`: the search parameters an auditor needs, each turned into one parameterised SQL
 * condition. Values separated by commas are alternatives (OR), repeated parameters all apply (AND),
 * as search.html says. An unknown parameter is refused rather than ignored: an auditor who
 * mistypes `patinet=` must not believe they saw every access.
 */
import { fhirError } from '@concordia/fhir';
import { joinSql, type Sql, sql } from '../store/sql.ts';
import { parseAccessEventId } from './access-log.ts';
import { patientReference } from './patient-references.ts';

export interface AuditEventQuery {
  criteria: AuditCriterion[];
  count: number;
  /** Keyset position: events older than this (recorded, id) pair. */
  before?: { recorded: string; id: string };
  /** `_total=accurate`: the bundle counts every match (search.html#total); otherwise it says nothing. */
  accurateTotal: boolean;
}

/**
 * One search parameter, its values validated and normalised (`Patient/1`, relative entities, bare
 * codes), before it becomes SQL for either table that holds AuditEvents: `audit_event` (writes,
 * sign-ins: the event JSON and its search columns) and `audit_access` (the access log's facts).
 */
export type AuditCriterion =
  | { name: 'date'; condition: Sql }
  | {
      name: '_id' | 'patient' | 'agent' | 'entity' | 'type' | 'subtype' | 'action' | 'outcome' | 'address';
      values: string[];
    };

/** The search parameters served, with their FHIR type, for the CapabilityStatement. */
export const AUDIT_EVENT_SEARCH_PARAMETERS = [
  { name: '_id', type: 'token' },
  { name: 'date', type: 'date' },
  { name: 'patient', type: 'reference' },
  { name: 'agent', type: 'reference' },
  { name: 'entity', type: 'reference' },
  { name: 'type', type: 'token' },
  { name: 'subtype', type: 'token' },
  { name: 'action', type: 'token' },
  { name: 'outcome', type: 'token' },
  { name: 'address', type: 'string' },
] as const;

const RESULT_PARAMETERS = new Set(['_count', '_cursor', '_format', '_pretty', '_total']);
const TOTAL_MODES = new Set(['none', 'estimate', 'accurate']);

export function auditEventQuery(
  query: readonly (readonly [string, string])[],
  paging: { defaultCount: number; maxCount: number },
): AuditEventQuery {
  const criteria: AuditCriterion[] = [];
  let count = paging.defaultCount;
  let before: AuditEventQuery['before'];
  let accurateTotal = false;
  for (const [name, value] of query) {
    if (name === '_count') count = Math.min(countOf(value), paging.maxCount);
    else if (name === '_cursor') before = cursorOf(value);
    else if (name === '_total') accurateTotal = totalModeOf(value) === 'accurate';
    else if (!RESULT_PARAMETERS.has(name)) criteria.push(criterion(name, value));
  }
  return { criteria, count, accurateTotal, ...(before !== undefined ? { before } : {}) };
}

function totalModeOf(value: string): string {
  if (!TOTAL_MODES.has(value)) throw invalid('_total', `_total=${value}: use none, estimate or accurate`);
  return value;
}

function criterion(name: string, value: string): AuditCriterion {
  const values = value.split(',').map((item) => item.trim());
  if (values.some((item) => item === '')) throw invalid(name, `${name} has an empty value`);
  switch (name) {
    case 'date':
      return { name, condition: dateCondition(value) };
    case '_id':
    case 'agent':
    case 'address':
      return { name, values };
    case 'patient':
      return { name, values: values.map(asPatient) };
    case 'entity':
      return { name, values: values.map(relative) };
    case 'type':
    case 'subtype':
    case 'action':
    case 'outcome':
      return { name, values: values.map(codeOf) };
    default: {
      const known = AUDIT_EVENT_SEARCH_PARAMETERS.map((parameter) => parameter.name).join(', ');
      throw invalid(name, `AuditEvent cannot be searched by ${name}; use ${known}`);
    }
  }
}

/** The conditions on `audit_event`, whose search columns hold every key an event matches by. */
export function eventConditions(query: AuditEventQuery): Sql[] {
  return query.criteria.map((criterion) => {
    if (criterion.name === 'date') return criterion.condition;
    const { values } = criterion;
    switch (criterion.name) {
      case '_id':
        return sql`id = any(${values}::text[])`;
      case 'patient':
        return sql`patient && ${values}::text[]`;
      case 'agent':
        return sql`agent && ${values}::text[]`;
      case 'entity':
        return sql`entity && ${values}::text[]`;
      case 'type':
        return sql`type = any(${values}::text[])`;
      case 'subtype':
        return sql`subtype && ${values}::text[]`;
      case 'action':
        return sql`action = any(${values}::text[])`;
      case 'outcome':
        return sql`outcome = any(${values}::text[])`;
      default:
        return sql`source_ip = any(${values}::text[])`;
    }
  });
}

/**
 * The same conditions on the access log's facts (migration 0012), matching exactly the events the
 * facts materialise to (access-log.ts): every access is a `rest` event; its agents' keys are the
 * requestor, `user:<id>`, the user's fhirUser, the client (`<id>`, `client:<id>`) and the
 * organization (audit-agents.ts).
 */
export function accessConditions(query: AuditEventQuery): Sql[] {
  return query.criteria.map((criterion) => {
    if (criterion.name === 'date') return criterion.condition;
    const { values } = criterion;
    switch (criterion.name) {
      case '_id': {
        const places = values.map(parseAccessEventId).filter((place) => place !== undefined);
        return places.length === 0
          ? sql`false`
          : sql`(batch, position) in (select * from unnest(${places.map((place) => place.batch)}::bigint[],
              ${places.map((place) => place.position)}::integer[]))`;
      }
      case 'patient':
        return sql`(batch, position) in (select batch, position from audit_access_patient
          where patient = any(${values}::text[]))`;
      case 'agent':
        return agentCondition(values);
      case 'entity':
        return sql`exists (select from unnest(entities) as e(reference)
          where e.reference = any(${values}::text[])
            or regexp_replace(e.reference, '/_history/.*$', '') = any(${values}::text[]))`;
      case 'type':
        return values.includes('rest') ? sql`true` : sql`false`;
      case 'subtype':
        return sql`(interaction = any(${values}::text[]) or operation = any(${values}::text[]))`;
      case 'action':
        return sql`action = any(${values}::text[])`;
      case 'outcome':
        return sql`outcome = any(${values}::text[])`;
      default:
        return sql`source_ip = any(${values}::text[])`;
    }
  });
}

function agentCondition(values: readonly string[]): Sql {
  const users = values.filter((value) => value.startsWith('user:')).map((value) => value.slice(5));
  const clients = values.filter((value) => value.startsWith('client:')).map((value) => value.slice(7));
  return sql`(requestor = any(${values}::text[]) or client_id = any(${values}::text[])
    or fhir_user = any(${values}::text[]) or organization = any(${values}::text[])
    or (actor = 'user' and requestor = any(${users}::text[])) or client_id = any(${clients}::text[]))`;
}

/** A patient given as `Patient/1`, an absolute URL or a bare id. */
function asPatient(value: string): string {
  const reference = patientReference(value.includes('/') ? value : `Patient/${value}`);
  if (reference === undefined) throw invalid('patient', `${value} is not a Patient reference`);
  return reference;
}

/** An entity given as an absolute URL is stored relative (`Observation/1`). */
function relative(value: string): string {
  const match = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?)$/.exec(value);
  return match?.[1] ?? value;
}

/** `system|code` or `code`: the columns keep codes (each parameter has one code system). */
function codeOf(token: string): string {
  const bar = token.indexOf('|');
  return bar === -1 ? token : token.slice(bar + 1);
}

const DATE =
  /^(eq|ne|gt|lt|ge|le|sa|eb)?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * search.html#date: the value is a range as wide as its precision (`2026-11-24` is that whole UTC
 * day); `eq` means the event falls in it, `lt`/`le`/`gt`/`ge` compare with its start or end.
 */
function dateCondition(value: string): Sql {
  const match = DATE.exec(value);
  if (match === null) throw invalid('date', `date=${value} is not a FHIR date with an optional prefix`);
  const [, prefix = 'eq', year, month, day, hour, minute, second, fraction, zone] = match;
  const start = new Date(
    `${year}-${month ?? '01'}-${day ?? '01'}T${hour ?? '00'}:${minute ?? '00'}:${second ?? '00'}${fraction ?? ''}${zone ?? 'Z'}`,
  );
  if (Number.isNaN(start.getTime())) throw invalid('date', `date=${value} is not a valid date`);
  const end = new Date(start);
  if (month === undefined) end.setUTCFullYear(end.getUTCFullYear() + 1);
  else if (day === undefined) end.setUTCMonth(end.getUTCMonth() + 1);
  else if (hour === undefined) end.setUTCDate(end.getUTCDate() + 1);
  else if (second === undefined) end.setUTCMinutes(end.getUTCMinutes() + 1);
  else if (fraction === undefined) end.setUTCSeconds(end.getUTCSeconds() + 1);
  else end.setUTCMilliseconds(end.getUTCMilliseconds() + 1);
  const from = start.toISOString();
  const to = end.toISOString();
  switch (prefix) {
    case 'eq':
      return sql`(recorded >= ${from}::timestamptz and recorded < ${to}::timestamptz)`;
    case 'ne':
      return sql`(recorded < ${from}::timestamptz or recorded >= ${to}::timestamptz)`;
    case 'gt':
    case 'sa':
      return sql`recorded >= ${to}::timestamptz`;
    case 'ge':
      return sql`recorded >= ${from}::timestamptz`;
    case 'lt':
    case 'eb':
      return sql`recorded < ${from}::timestamptz`;
    default:
      return sql`recorded < ${to}::timestamptz`;
  }
}

function countOf(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0) throw invalid('_count', `_count=${value} is not a whole number`);
  return count;
}

/** The cursor of a next link: the last event of the previous page. */
export function cursorText(recorded: string, id: string): string {
  return Buffer.from(JSON.stringify([recorded, id]), 'utf8').toString('base64url');
}

function cursorOf(value: string): { recorded: string; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && typeof parsed[0] === 'string' && typeof parsed[1] === 'string')
      return { recorded: parsed[0], id: parsed[1] };
  } catch {
    // Falls through to the 400 below: a cursor is opaque, so any damage is the client's mistake.
  }
  throw invalid('_cursor', 'The _cursor is not one this server issued');
}

function invalid(name: string, diagnostics: string) {
  return fhirError('invalid', 'invalid', diagnostics, [name]);
}

/** The conditions joined for a `where` clause. */
export function whereClause(conditions: readonly Sql[]): Sql {
  return conditions.length === 0 ? sql`true` : joinSql(conditions, ' and ');
}
