/**
 * The `ResourceStore` (port.ts) over either adapter: the same SQL on PostgreSQL and PGlite.
 * Every read asks `rowFilter` (row-filter.ts) for the access decision of its request context and
 * adds it to each statement (DESIGN.md rule 2): what the decision hides is not returned, counted,
 * included or matched through a chain. The store holds no policy: access/ builds the filter.
 */
import { fhirError, normalizeString } from '@concordia/fhir';
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
import type { ReadIntent, RowFilter, RowFilterSource } from './row-filter.ts';
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
  /** The access decision of each read (row-filter.ts); absent: every context reads every row. */
  rowFilter?: RowFilterSource;
}

export function createResourceStore(
  db: Database,
  indexer: ResourceIndexer,
  options: ResourceStoreOptions = {},
): ResourceStore {
  const normalize = options.normalizeString ?? normalizeString;
  const rowFilter: RowFilterSource = options.rowFilter ?? (() => undefined);
  const reads = storeReads(db, normalize, rowFilter);
  const writeDeps: WriteDeps = { indexer, recorders: options.recorders ?? [] };
  return {
    ...reads,
    transact<T>(_ctx: RequestContext, work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
      return db.transaction(async (connection) => {
        const tx = storeTransaction(connection, writeDeps, normalize, rowFilter);
        try {
          const result = await work(tx.transaction);
          await tx.flush();
          return result;
        } finally {
          tx.end();
        }
      });
    },
    history(ctx: RequestContext, query: HistoryQuery): Promise<HistoryPage> {
      return readHistory(db, query, rowFilter(ctx, { kind: 'history' }));
    },
    reindex(_ctx: RequestContext, batch: ReindexBatch): Promise<ReindexedBatch> {
      return reindexBatch(db, indexer, batch);
    },
    countCurrent(ctx: RequestContext, resourceTypes: readonly string[]): Promise<number> {
      return countCurrent(db, resourceTypes, rowFilter(ctx, { kind: 'count' }));
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

const READ: ReadIntent = { kind: 'read' };
const EVERYTHING: ReadIntent = { kind: 'everything' };

function storeReads(
  executor: SqlExecutor,
  normalize: StringNormalizer,
  rowFilter: RowFilterSource,
): StoreReads {
  return {
    // A resource the decision hides reads as one that never existed (the core answers 404), so a
    // read cannot reveal that it exists; the hidden read is still one statement, no extra lookup.
    // Prepared either way: the decision's text is the same for every read by one principal, and
    // planning its subqueries costs more than running them (2.8 ms against 0.3 ms, PostgreSQL 16).
    async read(ctx, resourceType, id): Promise<StoredVersion | undefined> {
      const rows = rowFilter(ctx, READ);
      const statement = sql`select ${versionColumns} from resource r
        where r.resource_type = ${resourceType} and r.id = ${id}`;
      const [row] = await executor.query(
        prepared(rows === undefined ? statement : sql`${statement} and ${visible(rows, resourceType)}`),
      );
      return row === undefined ? undefined : storedVersionFromRow(row);
    },
    async readVersion(ctx, resourceType, id, versionId): Promise<StoredVersion | undefined> {
      const rows = rowFilter(ctx, READ);
      const statement = sql`select ${versionColumns} from resource_history r
        where r.resource_type = ${resourceType} and r.id = ${id} and r.version_id = ${versionId}`;
      const [row] = await executor.query(
        prepared(rows === undefined ? statement : sql`${statement} and ${visible(rows, resourceType)}`),
      );
      return row === undefined ? undefined : storedVersionFromRow(row);
    },
    search(ctx, search) {
      const intent: ReadIntent = {
        kind: 'search',
        resourceTypes: search.resourceTypes,
        filters: search.filters,
      };
      return runSearch(executor, search, normalize, rowFilter(ctx, intent));
    },
    everything(ctx, query) {
      return runEverything(executor, query, rowFilter(ctx, EVERYTHING));
    },
  };
}

/**
 * A write may not land on a resource the access decision hides: the core read it as absent, so an
 * update would silently overwrite it. It is refused as a taken id (409), the answer a create that
 * lost a race for its id gets, so it says no more than that the id is in use.
 */
async function refuseHiddenTarget(
  executor: SqlExecutor,
  rowFilter: RowFilterSource,
  ctx: RequestContext,
  change: ResourceChange,
): Promise<void> {
  const rows = rowFilter(ctx, READ);
  if (rows === undefined) return;
  const [resourceType, id] =
    change.kind === 'write'
      ? [change.resource.resourceType, change.resource.id]
      : [change.resourceType, change.id];
  const [hidden] = await executor.query(sql`select 1 from resource r
    where r.resource_type = ${resourceType} and r.id = ${id} and not (${visible(rows, resourceType)})`);
  if (hidden !== undefined) {
    throw fhirError('conflict', 'conflict', `${resourceType}/${id} is already in use; choose another id`);
  }
}

function visible(rows: RowFilter, resourceType: string) {
  return rows.visible(sql`r`, [resourceType]);
}

/** A `StoreTransaction` bound to one connection; unusable once its transaction has ended. */
function storeTransaction(
  connection: TransactionExecutor,
  writeDeps: WriteDeps,
  normalize: StringNormalizer,
  rowFilter: RowFilterSource,
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
    ...storeReads(live, normalize, rowFilter),
    sql: live,
    async lock(key: string): Promise<void> {
      // Transaction-scoped: released by COMMIT/ROLLBACK, so an exception cannot leak a lock.
      await live.query(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
    },
    async apply(ctx: RequestContext, change: ResourceChange): Promise<StoredVersion> {
      if (!open) throw new Error('This store transaction has ended; use a new transact() call');
      if (!isQueueableCreate(change)) {
        await refuseHiddenTarget(live, rowFilter, ctx, change);
        return applyChange(live, writeDeps, ctx, change);
      }
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
