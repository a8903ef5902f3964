/**
 * A counter bumped in every transaction that changes terminology (migration 0010
 * `terminology_revision`): cached expansions and validation results remember the revision they
 * were computed at and are not served once it moved, on this node or on any other that shares the
 * database.
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

/**
 * The current revision for many concurrent callers at the cost of few reads. A caller is never
 * answered by a read that began before it asked — that read could predate a change the caller has
 * already seen committed (its own write, answered before it validates) — so callers that arrive
 * while a read is under way share the next one, which starts when that read ends: under load one
 * round trip serves every request that arrived during the previous one (as the audit sink's group
 * commit does), and a cached answer costs a share of one small query instead of its own.
 */
export function sharedRevisionReader(db: SqlExecutor): () => Promise<number> {
  let current: Promise<number> | undefined;
  let next: Promise<number> | undefined;
  const start = (): Promise<number> => {
    const read = readTerminologyRevision(db).finally(() => {
      if (current === read) current = undefined;
    });
    current = read;
    return read;
  };
  return () => {
    if (current === undefined) return start();
    if (next === undefined) {
      const settled = current.then(
        () => undefined,
        () => undefined,
      );
      next = settled.then(() => {
        next = undefined;
        return start();
      });
    }
    return next;
  };
}
