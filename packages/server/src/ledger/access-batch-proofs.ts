/**
 * Inclusion of one access-log event (`AuditEvent/r<batch>-<position>`, audit/access-log.ts) in the
 * ledger: its batch's leaf is in the tree, the leaf's content is the batch's source and row hashes,
 * and the event's row hashes to the one at its position. The inclusion proof door adds what a
 * client needs to check the last two steps: the row's canonical JSON, its position and the batch
 * content (docs/audit-and-ledger.md, "Leaves").
 */
import { accessRowJson, parseAccessEventId, readAccessRow } from '../audit/access-log.ts';
import { accessBatchContent, accessBatchReference } from '../audit/access-log-batches.ts';
import type { SqlExecutor } from '../store/database.ts';
import { readOptionalString, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';

export interface AccessBatchInclusion {
  /** The canonical JSON whose SHA-256 is the batch leaf's `contentSha256`. */
  content: string;
  position: number;
  /** The canonical JSON of the event's row, whose SHA-256 is `rows[position]` of `content`. */
  row: string;
}

/** For `AuditEvent/r…`: the batch leaf's reference and the batch facts; `undefined` for other rows. */
export async function accessInclusion(
  db: SqlExecutor,
  reference: string,
): Promise<{ batchReference: string; batch?: AccessBatchInclusion; missing: boolean } | undefined> {
  const place = reference.startsWith('AuditEvent/')
    ? parseAccessEventId(reference.slice('AuditEvent/'.length))
    : undefined;
  if (place === undefined) return undefined;
  const batchReference = accessBatchReference(place.batch);
  const [row] = await db.query(
    sql`select a.*, b.observer, b.site, encode(b.row_sha256, 'hex') as row_sha256
        from audit_access a join audit_access_batch b on b.batch = a.batch
        where a.batch = ${place.batch} and a.position = ${place.position}`,
  );
  if (row === undefined) return { batchReference, missing: true };
  const site = readOptionalString(row, 'site');
  const hashes = (readString(row, 'row_sha256').match(/.{64}/g) ?? []).map(String);
  return {
    batchReference,
    missing: false,
    batch: {
      content: accessBatchContent(
        { observer: readString(row, 'observer'), ...(site !== undefined ? { site } : {}) },
        hashes,
      ),
      position: place.position,
      row: accessRowJson(readAccessRow(row).row, place.position),
    },
  };
}
