/**
 * The `ResourceStore` (port.ts) over either adapter: the same SQL on PostgreSQL and PGlite.
 * The request context is accepted everywhere so that the access decision can become a SQL filter
 * here later (DESIGN.md rule 2); today every caller sees everything.
 */
import { normalizeString } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import { CreateQueue, isQueueableCreate } from './batched-creates.ts';
import { type Database, type SqlExecutor, sqlState, type TransactionExecutor } from './database.ts';
import { readHistory } from './history.ts';
import { INDEX_TABLES } from './index-tables.ts';
import { pendingMigrations } from './migrate.ts';
import type {
  HistoryPage,
  HistoryQuery,
  ReindexBatch,
  ReindexedBatch,
  ResourceChange,
  ResourceStore,
  StoredVersion,
  StoreReads,
  StoreTransaction,
  VersionRecorder,
} from './port.ts';
import { countCurrent, reindexBatch } from './reindex.ts';
import { runEverything } from './search/run-everything.ts';
import { runSearch } from './search/run-search.ts';
import type { StringNormalizer } from './search/string-normalizer.ts';
import { prepared, sql } from './sql.ts';
import { storedVersionFromRow, versionColumns } from './stored-version.ts';
import { applyChange, type ResourceIndexer, type WriteDeps } from './write-change.ts';

export type { StringNormalizer } from './search/string-normalizer.ts';
export type { ResourceIndexer } from './write-change.ts';

/** SQLSTATE 25001: the statement cannot run inside a transaction block. */
const ACTIVE_SQL_TRANSACTION = '25001';

/** Every table the store writes: the resources, their history, the search index, compartments. */
const STORE_TABLES = ['resource', 'resource_history', ...INDEX_TABLES.map((table) => table.name)];

export interface ResourceStoreOptions {
  /**
   * Folding applied to string search values before they are compared with `search_string.normalized`;
   * must be the one the indexer uses (default: `normalizeString` of packages/fhir, which the indexer uses).
   */
  normalizeString?: StringNormalizer;
  /** Rows kept beside every version written, in the same statement (port.ts `VersionRecorder`). */
  recorders?: readonly VersionRecorder[];
}

export function createResourceStore(
  db: Database,
  indexer: ResourceIndexer,
  options: ResourceStoreOptions = {},
): ResourceStore {
  const normalize = options.normalizeString ?? normalizeString;
  const reads = storeReads(db, normalize);
  const writeDeps: WriteDeps = { indexer, recorders: options.recorders ?? [] };
  return {
    ...reads,
    transact<T>(_ctx: RequestContext, work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
      return db.transaction(async (connection) => {
        const tx = storeTransaction(connection, writeDeps, normalize);
        try {
          const result = await work(tx.transaction);
          await tx.flush();
          return result;
        } finally {
          tx.end();
        }
      });
    },
    history(_ctx: RequestContext, query: HistoryQuery): Promise<HistoryPage> {
      return readHistory(db, query);
    },
    reindex(_ctx: RequestContext, batch: ReindexBatch): Promise<ReindexedBatch> {
      return reindexBatch(db, indexer, batch);
    },
    countCurrent(_ctx: RequestContext, resourceTypes: readonly string[]): Promise<number> {
      return countCurrent(db, resourceTypes);
    },
    async refreshStatistics(): Promise<void> {
      const tables = STORE_TABLES.join(', ');
      try {
        await db.executeScript(`vacuum (analyze) ${tables}`);
      } catch (error) {
        // An adapter that wraps every statement in a transaction (a schema on a shared PGlite, in
        // tests) cannot VACUUM; the statistics are the part searches cannot do without.
        if (sqlState(error) !== ACTIVE_SQL_TRANSACTION) throw error;
        await db.executeScript(`analyze ${tables}`);
      }
    },
    async readiness() {
      try {
        const pending = await pendingMigrations(db);
        if (pending.length > 0) {
          return { ready: false, detail: `pending migrations: ${pending.map((m) => m.name).join(', ')}` };
        }
        return { ready: true, detail: `${db.kind} answers; schema up to date` };
      } catch (error) {
        return {
          ready: false,
          detail: `${db.kind} unavailable: ${error instanceof Error ? error.message : error}`,
        };
      }
    },
    close: () => db.close(),
  };
}

function storeReads(executor: SqlExecutor, normalize: StringNormalizer): StoreReads {
  return {
    async read(_ctx, resourceType, id): Promise<StoredVersion | undefined> {
      const [row] = await executor.query(
        prepared(
          sql`select ${versionColumns} from resource where resource_type = ${resourceType} and id = ${id}`,
        ),
      );
      return row === undefined ? undefined : storedVersionFromRow(row);
    },
    async readVersion(_ctx, resourceType, id, versionId): Promise<StoredVersion | undefined> {
      const [row] = await executor.query(
        prepared(sql`select ${versionColumns} from resource_history
          where resource_type = ${resourceType} and id = ${id} and version_id = ${versionId}`),
      );
      return row === undefined ? undefined : storedVersionFromRow(row);
    },
    search(_ctx, search) {
      return runSearch(executor, search, normalize);
    },
    everything(_ctx, query) {
      return runEverything(executor, query);
    },
  };
}

/** A `StoreTransaction` bound to one connection; unusable once its transaction has ended. */
function storeTransaction(
  connection: TransactionExecutor,
  writeDeps: WriteDeps,
  normalize: StringNormalizer,
): { transaction: StoreTransaction; flush(): Promise<void>; end(): void } {
  let open = true;
  // Queued creates are written before any other statement sees the database (batched-creates.ts).
  const creates = new CreateQueue(writeDeps);
  const flush = (): Promise<void> => creates.flush(connection);
  const live: TransactionExecutor = {
    startedAt: connection.startedAt,
    async query(statement) {
      if (!open) throw new Error('This store transaction has ended; use a new transact() call');
      if (creates.length > 0) await flush();
      return connection.query(statement);
    },
    async executeScript(script) {
      if (!open) throw new Error('This store transaction has ended; use a new transact() call');
      if (creates.length > 0) await flush();
      return connection.executeScript(script);
    },
  };
  const transaction: StoreTransaction = {
    ...storeReads(live, normalize),
    async lock(key: string): Promise<void> {
      // Transaction-scoped: released by COMMIT/ROLLBACK, so an exception cannot leak a lock.
      await live.query(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
    },
    async apply(ctx: RequestContext, change: ResourceChange): Promise<StoredVersion> {
      if (!open) throw new Error('This store transaction has ended; use a new transact() call');
      if (!isQueueableCreate(change)) return applyChange(live, writeDeps, ctx, change);
      if (creates.full) await flush();
      return creates.add(ctx, change, connection.startedAt);
    },
  };
  return {
    transaction,
    flush,
    end() {
      open = false;
    },
  };
}
