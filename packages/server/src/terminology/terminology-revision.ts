/**
 * A counter bumped in every transaction that changes terminology (migration 0010
 * `terminology_revision`): cached expansions remember the revision they were computed at and are
 * not served once it moved, on this node or on any other that shares the database.
 */
import type { SqlExecutor } from '../store/database.ts';
import { readNumber } from '../store/rows.ts';
import { prepared, sql } from '../store/sql.ts';

export async function bumpTerminologyRevision(tx: SqlExecutor): Promise<void> {
  await tx.query(sql`update terminology_revision set revision = revision + 1`);
}

export async function readTerminologyRevision(db: SqlExecutor): Promise<number> {
  const [row] = await db.query(prepared(sql`select revision from terminology_revision`));
  if (row === undefined) throw new Error('terminology_revision has no row (migration 0010)');
  return readNumber(row, 'revision');
}
