/**
 * The access log (migration 0012): the audit of every request the core answers that is not a
 * committed write, kept as one compact row of facts per request instead of the BALP AuditEvent
 * JSON. A read is a primary-key lookup that sends stored bytes; building, serialising and indexing
 * a two-kilobyte event for each one cost more than the read itself (docs/audit-and-ledger.md,
 * "What audit and ledger cost"). The facts are everything `auditRecordWithId` needs, so the event
 * an auditor reads (`AuditEvent/r<batch>-<position>`) is the one that would have been stored.
 *
 * A row's canonical JSON (RFC 8785) is what the sink sends to the database and what the batch's
 * ledger leaf commits to (access-log-batches.ts), so a verifier rebuilds the very bytes from the
 * stored row.
 */
import { canonicalJson } from '@concordia/fhir';
import type { Row } from '../store/database.ts';
import { readNumber, readOptionalString, readString } from '../store/rows.ts';
import { type AuditContext, type AuditedPrincipal, type AuditSource, clientOf } from './audit-agents.ts';
import { type AuditFacts, type AuditRecord, auditRecordWithId } from './audit-event.ts';
import {
  type AuditAction,
  type AuditOutcome,
  type Coding,
  OPERATION_SYSTEM,
  REST_TYPE,
  RESTFUL_INTERACTION,
} from './balp-codes.ts';

/** One row of `audit_access` without its place (batch, position); keys are the column names. */
export interface AccessRow {
  recorded: string;
  request_id: string;
  interaction: string;
  operation?: string;
  action: AuditAction;
  outcome: AuditOutcome;
  outcome_desc?: string;
  actor: AuditedPrincipal['kind'];
  actor_id?: string;
  roles?: string[];
  fhir_user?: string;
  organization?: string;
  token_id?: string;
  client_id?: string;
  requestor: string;
  source_ip?: string;
  user_agent?: string;
  purpose?: string;
  break_glass_reason?: string;
  entities: string[];
  query?: string;
  patients: string[];
}

/** The facts of an interaction event (interaction-audit.ts) as an access-log row. */
export function accessRowOf(facts: AuditFacts): AccessRow {
  const { ctx } = facts;
  const principal = ctx.principal;
  const clientId = ctx.clientId ?? clientOf(principal);
  const [interaction, operation] = facts.subtypes;
  const row: AccessRow = {
    recorded: facts.recorded,
    request_id: text(ctx.requestId),
    interaction: text(interaction?.code ?? 'unknown'),
    action: facts.action,
    outcome: facts.outcome,
    actor: principal.kind,
    requestor: text(requestorOf(principal, clientId)),
    entities: texts(new Set(facts.entities)),
    patients: texts(new Set(facts.patients)),
  };
  if (operation !== undefined) row.operation = text(operation.code);
  if (facts.outcomeDescription !== undefined) row.outcome_desc = text(facts.outcomeDescription);
  if (principal.kind === 'user' || principal.kind === 'client') {
    row.actor_id = text(principal.id);
    row.roles = texts(principal.roles);
    if (principal.organization !== undefined) row.organization = text(principal.organization);
    if (principal.tokenId !== undefined) row.token_id = text(principal.tokenId);
    if (principal.kind === 'user' && principal.fhirUser !== undefined)
      row.fhir_user = text(principal.fhirUser);
  } else if (principal.kind === 'system') row.actor_id = text(principal.id);
  if (clientId !== undefined) row.client_id = text(clientId);
  if (ctx.sourceIp !== undefined) row.source_ip = text(ctx.sourceIp);
  if (ctx.userAgent !== undefined) row.user_agent = text(ctx.userAgent);
  if (ctx.purposeOfUse !== undefined) row.purpose = text(ctx.purposeOfUse);
  if (ctx.breakTheGlass !== undefined) row.break_glass_reason = text(ctx.breakTheGlass.reason);
  if (facts.query !== undefined && facts.query !== '') row.query = text(facts.query);
  return row;
}

/**
 * What `AuditEvent?agent=` finds first (indexed with the time): the user, the client acting on its
 * own, or the name an internal principal is recorded under (audit-agents.ts keys).
 */
function requestorOf(principal: AuditedPrincipal, clientId: string | undefined): string {
  switch (principal.kind) {
    case 'user':
      return principal.id;
    case 'client':
      return clientId ?? principal.id;
    case 'system':
      return `system:${principal.id}`;
    case 'anonymous':
      return clientId ?? 'anonymous';
    default:
      return principal.kind;
  }
}

/**
 * PostgreSQL text cannot hold U+0000, and one bad row would fail the whole batch (every request in
 * it answered 503): a request must not be able to deny service to others through its user agent or
 * an error message quoting its input. U+001C–U+001F separate the fields of a batch on its way to
 * the database (`encodeAccessRow`), so they are replaced too, before the row is hashed.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding these control characters is its job
const NOT_STORABLE = /[\u0000\u001c-\u001f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding these control characters is its job
const EVERY_NOT_STORABLE = /[\u0000\u001c-\u001f]/g;

function text(value: string): string {
  return NOT_STORABLE.test(value) ? value.replace(EVERY_NOT_STORABLE, '\uFFFD') : value;
}

/** Array members: stored text, never empty (an empty member could not be told from no member). */
function texts(values: Iterable<string>): string[] {
  const stored: string[] = [];
  for (const value of values) if (value !== '') stored.push(text(value));
  return stored;
}

/**
 * The members of a row's JSON in RFC 8785 order (UTF-16 code units): those that sort before
 * `position`, then those after it.
 */
const MEMBERS_BEFORE_POSITION = [
  'action',
  'actor',
  'actor_id',
  'break_glass_reason',
  'client_id',
  'entities',
  'fhir_user',
  'interaction',
  'operation',
  'organization',
  'outcome',
  'outcome_desc',
  'patients',
] as const satisfies readonly (keyof AccessRow)[];
const MEMBERS_AFTER_POSITION = [
  'purpose',
  'query',
  'recorded',
  'request_id',
  'requestor',
  'roles',
  'source_ip',
  'token_id',
  'user_agent',
] as const satisfies readonly (keyof AccessRow)[];

/**
 * A row as it travels from its request to its batch: its canonical JSON without `position` (the
 * spool line, which recovery parses back) and where a batch inserts the position. A row is
 * serialised once, and what waits for the batch is one string rather than the row's objects:
 * rows wait ~20 ms, long enough to survive young-generation collections and be copied by them.
 */
export interface EncodedAccessRow {
  json: string;
  /** Index in `json` of the comma between the members before and after `position`. */
  positionAt: number;
  /** The row's columns as the batch statement reads them (`accessRowFields`). */
  fields: string;
}

/**
 * The RFC 8785 canonical JSON of a row without `position`: written member by member in the order
 * above, every value a string or an array of strings (whose `JSON.stringify` form is canonical),
 * absent members left out. The generic `canonicalJson` sorts keys for every row; this is the
 * request path, and a test holds the two equal. Both halves are never empty: `action` and
 * `recorded` are required.
 */
export function encodeAccessRow(row: AccessRow): EncodedAccessRow {
  const before = members(row, MEMBERS_BEFORE_POSITION);
  const after = members(row, MEMBERS_AFTER_POSITION);
  return { json: `{${before},${after}}`, positionAt: before.length + 1, fields: accessRowFields(row) };
}

/** Between the fields of a row; between the rows of a batch; between the members of an array column. */
export const FIELD_SEPARATOR = '\u001f';
export const ROW_SEPARATOR = '\u001e';
export const MEMBER_SEPARATOR = '\u001d';
/** An absent optional column (NULL), as opposed to an empty text. */
export const ABSENT = '\u001c';

/**
 * The row's columns in `ACCESS_ROW_COLUMNS` order, separated by U+001F, array members by U+001D,
 * an absent column written as U+001C: what the batch statement splits back into columns
 * (access-log-batches.ts). `json_populate_recordset` over the rows' JSON cost the database ~5 µs
 * a row (every array and timestamp through the JSON parser), splitting text ~0.5 µs; none of the
 * four characters can occur in a value (`text` replaces them), so no escaping is needed.
 */
export function accessRowFields(row: AccessRow): string {
  let fields = '';
  for (let index = 0; index < ACCESS_ROW_COLUMNS.length; index++) {
    const value = row[ACCESS_ROW_COLUMNS[index] as keyof AccessRow];
    if (index > 0) fields += FIELD_SEPARATOR;
    if (value === undefined) fields += ABSENT;
    else fields += typeof value === 'string' ? value : value.join(MEMBER_SEPARATOR);
  }
  return fields;
}

function members(row: AccessRow, names: readonly (keyof AccessRow)[]): string {
  let json = '';
  for (const name of names) {
    const value = row[name];
    if (value === undefined) continue;
    json += `${json === '' ? '' : ','}"${name}":${JSON.stringify(value)}`;
  }
  return json;
}

/** The canonical JSON of an encoded row at `position` (a non-negative integer, canonical as is). */
export function positionedAccessRowJson(encoded: EncodedAccessRow, position: number): string {
  const { json, positionAt } = encoded;
  return `${json.slice(0, positionAt)},"position":${position}${json.slice(positionAt)}`;
}

/** The RFC 8785 canonical JSON of a row at `position`: what its hash in the batch leaf is of. */
export function accessRowJson(row: AccessRow, position: number): string {
  return positionedAccessRowJson(encodeAccessRow(row), position);
}

/** The row an encoded row stands for (a forwarder's and a log's view; rare paths). */
export function decodeAccessRow(encoded: EncodedAccessRow): AccessRow {
  return JSON.parse(encoded.json) as AccessRow;
}

/** The generic form of `accessRowJson`, for the test that keeps the two equal. */
export function accessRowCanonicalJson(row: AccessRow, position: number): string {
  return canonicalJson({ ...row, position });
}

/** The id of the AuditEvent a row stands for. */
export function accessEventId(batch: number, position: number): string {
  return `r${batch}-${position}`;
}

/** `r<batch>-<position>`: never a UUID (the ids of `audit_event`), whose first character is hex. */
export function parseAccessEventId(id: string): { batch: number; position: number } | undefined {
  const match = /^r(\d{1,15})-(\d{1,9})$/.exec(id);
  if (match === null) return undefined;
  return { batch: Number(match[1]), position: Number(match[2]) };
}

/** The AuditEvent of a row, as `auditRecord` would have built it when the request was answered. */
export function accessAuditRecord(
  row: AccessRow,
  place: { batch: number; position: number },
  source: AuditSource,
): AuditRecord {
  const ctx: AuditContext = {
    principal: principalOf(row),
    requestId: row.request_id,
    ...(row.client_id !== undefined ? { clientId: row.client_id } : {}),
    ...(row.source_ip !== undefined ? { sourceIp: row.source_ip } : {}),
    ...(row.user_agent !== undefined ? { userAgent: row.user_agent } : {}),
    ...(row.purpose !== undefined ? { purposeOfUse: row.purpose } : {}),
    ...(row.break_glass_reason !== undefined ? { breakTheGlass: { reason: row.break_glass_reason } } : {}),
  };
  const subtypes: Coding[] = [{ system: RESTFUL_INTERACTION, code: row.interaction }];
  if (row.operation !== undefined) subtypes.push({ system: OPERATION_SYSTEM, code: row.operation });
  return auditRecordWithId(
    accessEventId(place.batch, place.position),
    {
      ctx,
      recorded: row.recorded,
      type: REST_TYPE,
      subtypes,
      action: row.action,
      outcome: row.outcome,
      ...(row.outcome_desc !== undefined ? { outcomeDescription: row.outcome_desc } : {}),
      entities: row.entities,
      ...(row.query !== undefined ? { query: row.query } : {}),
      patients: row.patients,
    },
    source,
  );
}

function principalOf(row: AccessRow): AuditedPrincipal {
  const optional = {
    ...(row.organization !== undefined ? { organization: row.organization } : {}),
    ...(row.token_id !== undefined ? { tokenId: row.token_id } : {}),
  };
  switch (row.actor) {
    case 'user':
      return {
        kind: 'user',
        id: row.actor_id ?? '',
        roles: row.roles ?? [],
        ...(row.fhir_user !== undefined ? { fhirUser: row.fhir_user } : {}),
        ...optional,
      };
    case 'client':
      return { kind: 'client', id: row.actor_id ?? '', roles: row.roles ?? [], ...optional };
    case 'system':
      return { kind: 'system', id: row.actor_id ?? '' };
    default:
      return { kind: row.actor };
  }
}

/** The columns `readAccessRow` reads (with `batch`, `position` and the batch's `observer`, `site`). */
export const ACCESS_ROW_COLUMNS = [
  'recorded',
  'request_id',
  'interaction',
  'operation',
  'action',
  'outcome',
  'outcome_desc',
  'actor',
  'actor_id',
  'roles',
  'fhir_user',
  'organization',
  'token_id',
  'client_id',
  'requestor',
  'source_ip',
  'user_agent',
  'purpose',
  'break_glass_reason',
  'entities',
  'query',
  'patients',
] as const;

const ACTIONS: readonly AuditAction[] = ['C', 'R', 'U', 'D', 'E'];
const OUTCOMES: readonly AuditOutcome[] = ['0', '4', '8', '12'];
const ACTORS: readonly AuditedPrincipal['kind'][] = [
  'user',
  'client',
  'system',
  'anonymous',
  'open-development',
];

/** A stored row back as an `AccessRow` (nulls are absent members), with its place. */
export function readAccessRow(row: Row): { row: AccessRow; batch: number; position: number } {
  const action = readString(row, 'action');
  const outcome = readString(row, 'outcome');
  const actor = readString(row, 'actor');
  const known = <T extends string>(values: readonly T[], value: string, column: string): T => {
    const found = values.find((candidate) => candidate === value);
    if (found === undefined) throw new TypeError(`Column ${column}: unexpected value ${value}`);
    return found;
  };
  const access: AccessRow = {
    recorded: readString(row, 'recorded'),
    request_id: readString(row, 'request_id'),
    interaction: readString(row, 'interaction'),
    action: known(ACTIONS, action, 'action'),
    outcome: known(OUTCOMES, outcome, 'outcome'),
    actor: known(ACTORS, actor, 'actor'),
    requestor: readString(row, 'requestor'),
    entities: stringArray(row, 'entities'),
    patients: stringArray(row, 'patients'),
  };
  const optional = [
    'operation',
    'outcome_desc',
    'actor_id',
    'fhir_user',
    'organization',
    'token_id',
    'client_id',
    'source_ip',
    'user_agent',
    'purpose',
    'break_glass_reason',
    'query',
  ] as const;
  for (const column of optional) {
    const value = readOptionalString(row, column);
    if (value !== undefined) access[column] = value;
  }
  if (row.roles !== null && row.roles !== undefined) access.roles = stringArray(row, 'roles');
  return { row: access, batch: readNumber(row, 'batch'), position: readNumber(row, 'position') };
}

function stringArray(row: Row, column: string): string[] {
  const value = row[column];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw new TypeError(`Column ${column}: expected an array of strings`);
  return value;
}
