/**
 * The adapter seam (DESIGN.md D3): the store speaks plain PostgreSQL through this interface, and
 * `postgres.ts` (a `pg` pool) and `pglite.ts` (embedded PGlite) implement it. Both adapters parse
 * result values the same way (`parse-values.ts`): `int8` → number, `timestamptz` → ISO instant
 * with milliseconds and `Z`, so no caller sees a driver's own representation.
 */
import type { Sql } from './sql.ts';

/** A result row as the driver returns it; readers in `rows.ts` turn columns into types. */
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  /** One statement with bound parameters (extended protocol). */
  query(statement: Sql): Promise<Row[]>;
  /** A script of several statements without parameters (simple protocol): migrations only. */
  executeScript(script: string): Promise<void>;
}

export interface TransactionExecutor extends SqlExecutor {
  /**
   * The transaction timestamp (`transaction_timestamp()`, the database clock) truncated to
   * milliseconds, as a FHIR instant. Read together with BEGIN, so it costs no extra round trip.
   */
  readonly startedAt: string;
  /**
   * Sends `pg_notify(channel, payload)` in the same round trip as COMMIT, so the notification is
   * delivered exactly when the transaction commits and costs no statement of its own. Absent where
   * nothing listens (PGlite: one process, one node).
   */
  notifyOnCommit?(channel: string, payload: string): void;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Database extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `work` between BEGIN and COMMIT on one connection; rolls back and rethrows if it throws.
   * Inside `work`, use only `tx`: on PGlite a query on the database itself waits for the
   * transaction to end, so it would never run.
   */
  transaction<T>(work: (tx: TransactionExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  poolStats(): PoolStats;
}

/** SQLSTATE of a PostgreSQL error, if `error` is one (both drivers put it in `code`). */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = error.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export const UNIQUE_VIOLATION = '23505';

/** The statement both adapters run right after BEGIN to learn the transaction timestamp. */
export const TRANSACTION_TIMESTAMP_QUERY =
  "select date_trunc('milliseconds', transaction_timestamp()) as started_at";
