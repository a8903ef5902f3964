/**
 * A node's access-log spool, opened at start (access-spool.ts): first the rows that spools of dead
 * processes hold and the database does not are stored — the requests were answered, their audit
 * must not be lost to a crash — then a new spool is opened for this process. Spools live under
 * `<spool dir>/<database id>/` (migration 0014), so rows only ever return to their own database.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SqlExecutor } from '../store/database.ts';
import { readString } from '../store/rows.ts';
import { cteList, prepared, sql } from '../store/sql.ts';
import { type AccessRow, encodeAccessRow } from './access-log.ts';
import { accessBatchCtes, linesOfRanges } from './access-log-batches.ts';
import { type AccessSpool, type LeftSpool, leftSpools, openAccessSpool } from './access-spool.ts';
import type { AuditSource } from './audit-agents.ts';

export interface NodeSpoolOptions {
  db: SqlExecutor;
  /** `AuditConfig.spoolDir`. */
  dir: string;
  source: AuditSource;
  ledger: boolean;
  /** Most rows in one recovery batch. */
  maxBatchEvents: number;
  logger: Logger;
}

export async function openNodeSpool(options: NodeSpoolOptions): Promise<AccessSpool> {
  const dir = join(options.dir, await databaseId(options.db));
  for (const left of leftSpools(dir)) await recover(left, options);
  return openAccessSpool(dir);
}

async function databaseId(db: SqlExecutor): Promise<string> {
  const [row] = await db.query(sql`select id from audit_spool_database`);
  if (row === undefined) throw new Error('audit_spool_database is empty (migration 0014)');
  return readString(row, 'id');
}

/** Stores the rows of `left` that no committed batch carried, then deletes the file. */
export async function recover(left: LeftSpool, options: NodeSpoolOptions): Promise<number> {
  const stored = new Set<number>();
  const batches = await options.db.query(
    sql`select spool_lines from audit_access_batch where spool = ${left.id}`,
  );
  for (const batch of batches) {
    const ranges = Array.isArray(batch.spool_lines) ? batch.spool_lines.map(Number) : [];
    for (const line of linesOfRanges(ranges)) stored.add(line);
  }
  const missing: { row: AccessRow; line: number }[] = [];
  left.rows.forEach((row, line) => {
    if (!stored.has(line)) missing.push({ row, line });
  });
  for (let start = 0; start < missing.length; start += options.maxBatchEvents) {
    const chunk = missing.slice(start, start + options.maxBatchEvents);
    const ctes = accessBatchCtes(
      chunk.map((entry) => encodeAccessRow(entry.row)),
      options.source,
      options.ledger,
      { spooled: { spool: left.id, lines: chunk.map((entry) => entry.line) } },
    );
    await options.db.query(prepared(sql`with ${cteList(ctes)} select id as batch from access_batch`));
  }
  rmSync(left.path, { force: true });
  if (missing.length > 0)
    options.logger.warn(
      { spool: left.path, rows: missing.length, alreadyStored: left.rows.length - missing.length },
      'stored access-log rows that a stopped process had spooled but not committed',
    );
  return missing.length;
}
