/**
 * A batch of access-log rows as the sink writes it (migration 0012): one statement inserts the
 * rows (one text parameter of separated fields), their patient index rows, the batch row and the batch's ledger entry,
 * taking the batch number from a sequence. The batch is one ledger leaf (DESIGN.md D8):
 *
 *   leaf content = canonical JSON {"observer": …, "rows": [hex SHA-256 of row 0, row 1, …], "site": …}
 *   row hash     = SHA-256 of the row's canonical JSON (access-log.ts `accessRowJson`)
 *
 * so the ledger commits to every row, in order, through one leaf per batch instead of one per
 * request, and `ledger verify` still names the row that was altered, removed or added (the stored
 * row hashes, themselves committed by the leaf, say what each position held). An inclusion proof
 * for one access is the batch leaf's proof plus the row hashes and the row's position.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from '@concordia/fhir';
import { type Cte, type Sql, sql } from '../store/sql.ts';
import {
  type EncodedAccessRow,
  FIELD_SEPARATOR,
  positionedAccessRowJson,
  ROW_SEPARATOR,
} from './access-log.ts';
import type { AuditSource } from './audit-agents.ts';

export const ACCESS_BATCH_KIND = 'audit-access-batch';

/** The ledger reference of batch `batch`. */
export function accessBatchReference(batch: number): string {
  return `AuditAccessBatch/${batch}`;
}

export function parseAccessBatchReference(reference: string): number | undefined {
  const match = /^AuditAccessBatch\/(\d{1,15})$/.exec(reference);
  return match === null ? undefined : Number(match[1]);
}

/** The canonical JSON the batch leaf's `contentSha256` is the hash of. */
export function accessBatchContent(source: AuditSource, rowSha256: readonly string[]): string {
  return canonicalJson({
    observer: source.observer,
    rows: rowSha256,
    ...(source.site !== undefined ? { site: source.site } : {}),
  });
}

export function sha256Hex(text: string): string {
  // One-shot: a batch hashes every row, and a Hash object per row costs twice the digest.
  return hash('sha256', text, 'hex');
}

/** The spool lines a batch carries (access-spool.ts): one spool file's id and the rows' line numbers. */
export interface BatchSpoolLines {
  spool: string;
  lines: readonly number[];
}

/**
 * The common table expressions that store `rows` (access-log.ts `encodeAccessRow`) as one batch
 * (and its ledger entry when `ledger`): `access_batch` yields the batch number. The statement text
 * is the same whatever the number of rows, so PostgreSQL prepares it once per connection. `when`:
 * a condition on the rest of the statement (a write's `exists (select from written)`), without
 * which nothing is stored.
 */
export function accessBatchCtes(
  rows: readonly EncodedAccessRow[],
  source: AuditSource,
  ledger: boolean,
  options: { spooled?: BatchSpoolLines; when?: Sql } = {},
): Cte[] {
  const { spooled, when } = options;
  const rowJson = rows.map((row, position) => positionedAccessRowJson(row, position));
  const rowHashes = rowJson.map(sha256Hex);
  const ctes: Cte[] = [
    {
      name: 'access_batch',
      statement: sql`select nextval('audit_access_batch_number') as id${when === undefined ? sql`` : sql` where ${when}`}`,
    },
    {
      // The columns as access-log.ts `accessRowFields` writes them, position first. U+001C is an
      // absent column (NULL), U+001D separates array members, U+001F fields, U+001E rows.
      name: 'access_rows',
      statement: sql`select f[1]::integer as position, f[2]::timestamptz as recorded, f[3] as request_id,
        f[4] as interaction, nullif(f[5], E'\x1c') as operation, f[6] as action, f[7] as outcome,
        nullif(f[8], E'\x1c') as outcome_desc, f[9] as actor, nullif(f[10], E'\x1c') as actor_id,
        case when f[11] = E'\x1c' then null else string_to_array(f[11], E'\x1d') end as roles,
        nullif(f[12], E'\x1c') as fhir_user, nullif(f[13], E'\x1c') as organization,
        nullif(f[14], E'\x1c') as token_id, nullif(f[15], E'\x1c') as client_id, f[16] as requestor,
        nullif(f[17], E'\x1c') as source_ip, nullif(f[18], E'\x1c') as user_agent,
        nullif(f[19], E'\x1c') as purpose, nullif(f[20], E'\x1c') as break_glass_reason,
        string_to_array(f[21], E'\x1d') as entities, nullif(f[22], E'\x1c') as query,
        string_to_array(f[23], E'\x1d') as patients
      from (select string_to_array(line, E'\x1f') as f
        from unnest(string_to_array(${batchFields(rows)}::text, E'\x1e')) as line
        -- Each line is split once, not once per column it is read for.
        offset 0) as split`,
    },
    {
      name: 'access_stored',
      statement: sql`insert into audit_access (batch, position, recorded, request_id, interaction, operation, action,
        outcome, outcome_desc, actor, actor_id, roles, fhir_user, organization, token_id, client_id, requestor,
        source_ip, user_agent, purpose, break_glass_reason, entities, query, patients)
      select b.id, r.position, r.recorded, r.request_id, r.interaction, r.operation, r.action, r.outcome,
        r.outcome_desc, r.actor, r.actor_id, r.roles, r.fhir_user, r.organization, r.token_id, r.client_id,
        r.requestor, r.source_ip, r.user_agent, r.purpose, r.break_glass_reason, r.entities, r.query, r.patients
      from access_rows r, access_batch b`,
    },
    {
      name: 'access_patients',
      statement: sql`insert into audit_access_patient (patient, recorded, batch, position)
      select p.patient, r.recorded, b.id, r.position
      from access_rows r cross join access_batch b cross join unnest(r.patients) as p(patient)`,
    },
    {
      name: 'access_batch_row',
      statement: sql`insert into audit_access_batch (batch, observer, site, row_sha256, spool, spool_lines)
      select id, ${source.observer}, ${source.site ?? null}::text, decode(${rowHashes.join('')}, 'hex'),
        ${spooled?.spool ?? null}::text, ${spooled === undefined ? null : lineRanges(spooled.lines)}::bigint[]
      from access_batch`,
    },
  ];
  if (!ledger) return ctes;
  const content = sha256Hex(accessBatchContent(source, rowHashes));
  ctes.push({
    name: 'access_leaf',
    statement: sql`insert into ledger_entry (kind, reference, content_sha256)
      select ${ACCESS_BATCH_KIND}, 'AuditAccessBatch/' || id, decode(${content}, 'hex') from access_batch`,
  });
  return ctes;
}

/** The rows' fields (access-log.ts `accessRowFields`), each after its position, as one text. */
function batchFields(rows: readonly EncodedAccessRow[]): string {
  let text = '';
  rows.forEach((row, position) => {
    text += `${position === 0 ? '' : ROW_SEPARATOR}${position}${FIELD_SEPARATOR}${row.fields}`;
  });
  return text;
}

/** Line numbers as flattened ranges `[first, last, first, last…]`: a batch's lines are mostly one run. */
export function lineRanges(lines: readonly number[]): number[] {
  const sorted = [...lines].sort((left, right) => left - right);
  const ranges: number[] = [];
  for (const line of sorted) {
    const last = ranges.length - 1;
    if (last > 0 && ranges[last] === line - 1) ranges[last] = line;
    else ranges.push(line, line);
  }
  return ranges;
}

/** The line numbers the flattened ranges of `lineRanges` cover. */
export function linesOfRanges(ranges: readonly number[]): Set<number> {
  const lines = new Set<number>();
  for (let index = 0; index + 1 < ranges.length; index += 2) {
    const first = ranges[index] ?? 0;
    const last = ranges[index + 1] ?? -1;
    for (let line = first; line <= last; line += 1) lines.add(line);
  }
  return lines;
}
