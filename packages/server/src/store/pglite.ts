/**
 * The embedded adapter (DESIGN.md D3): PGlite, PostgreSQL compiled to WASM, with a file-backed data
 * directory (or `memory://`). PGlite is one connection: its `query` and `transaction` share one
 * mutex, so concurrent transactions queue in arrival order and never interleave. The trade-off is
 * plain: writes are serial, which is fine for one clinic and why production runs PostgreSQL.
 */
import { PGlite, type Transaction } from '@electric-sql/pglite';
import {
  type Database,
  type Row,
  type SqlExecutor,
  TRANSACTION_TIMESTAMP_QUERY,
  type TransactionExecutor,
} from './database.ts';
import { OID_INT8, OID_TIMESTAMPTZ, parseInt8, parseTimestamptz } from './parse-values.ts';
import { readString } from './rows.ts';
import { identifier, type Sql, sql } from './sql.ts';

export interface PgliteOptions {
  /** A directory path for durable data, or `memory://` (tests). */
  dataDir: string;
}

/** Opens (creating if needed) the embedded database; closing the `Database` closes PGlite. */
export async function openPgliteDatabase(options: PgliteOptions): Promise<Database> {
  const instance = await openPglite(options.dataDir);
  return pgliteDatabase(instance, { ownsInstance: true });
}

export async function openPglite(dataDir: string): Promise<PGlite> {
  const instance = await PGlite.create(dataDir, {
    parsers: { [OID_INT8]: parseInt8, [OID_TIMESTAMPTZ]: parseTimestamptz },
  });
  await instance.exec(`SET TimeZone = 'UTC'`);
  return instance;
}

export interface PgliteDatabaseOptions {
  /** Close the PGlite instance when the `Database` closes. */
  ownsInstance: boolean;
  /**
   * Work in this schema of a shared instance (tests run one schema per fresh database). Every
   * statement then runs in a transaction that first sets `search_path`, because the one session
   * is shared by every `Database` on the instance.
   */
  schema?: string;
}

export function pgliteDatabase(instance: PGlite, options: PgliteDatabaseOptions): Database {
  const searchPath = options.schema === undefined ? undefined : identifier(options.schema);
  const inTransaction = async <T>(work: (tx: TransactionExecutor) => Promise<T>): Promise<T> =>
    instance.transaction(async (tx) => {
      if (searchPath !== undefined) await tx.query(sql`SET LOCAL search_path TO ${searchPath}`.text);
      const [row] = (await tx.query<Row>(TRANSACTION_TIMESTAMP_QUERY)).rows;
      if (row === undefined) throw new Error('PGlite did not return the transaction timestamp');
      return work({ ...executor(tx), startedAt: readString(row, 'started_at') });
    });

  const direct: SqlExecutor =
    searchPath === undefined
      ? executor(instance)
      : {
          query: (statement) => inTransaction((tx) => tx.query(statement)),
          executeScript: (script) => inTransaction((tx) => tx.executeScript(script)),
        };

  return {
    kind: 'pglite',
    ...direct,
    transaction: inTransaction,
    async close(): Promise<void> {
      if (options.ownsInstance) await instance.close();
    },
    poolStats() {
      return { total: 1, idle: instance.isInTransaction() ? 0 : 1, waiting: 0 };
    },
  };
}

function executor(connection: PGlite | Transaction): SqlExecutor {
  return {
    async query(statement: Sql): Promise<Row[]> {
      const { text, values } = statement.toQuery();
      const result = await connection.query<Row>(text, values);
      return result.rows;
    },
    async executeScript(script: string): Promise<void> {
      await connection.exec(script);
    },
  };
}
