/**
 * The `ResourceStore` (port.ts) over either adapter: the same SQL on PostgreSQL and PGlite.
 * Every read asks `rowFilter` (row-filter.ts) for the access decision of its request context and
 * adds it to each statement (DESIGN.md rule 2): what the decision hides is not returned, counted,
 * included or matched through a chain. The store holds no policy: access/ builds the filter.
 */
import { fhirError, normalizeString } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import { isQueueableCreate, WriteQueue } from './batched-writes.ts';
import type { ChangeNotice } from './change-notifications.ts';
import { type Database, type Row, type SqlExecutor, sqlState, type TransactionExecutor } from './database.ts';
import { readHistory } from './history.ts';
import { INDEX_TABLES } from './index-tables.ts';
import { pendingMigrations } from './migrate.ts';
import type {
  HistoryPage,
  HistoryQuery,
  ReindexBatch,
  ReindexedBatch,
  ResourceChange,
  ResourceDeletion,
  ResourceKey,
  ResourceStore,
  StoredVersion,
  StoreReads,
  StoreTransaction,
  VersionRecorder,
} from './port.ts';
import { countCurrent, reindexBatch } from './reindex.ts';
import {
  type FilterReader,
  NO_ROW_FILTER,
  type ReadIntent,
  type RowFilter,
  type RowFilterSource,
  type WriteAction,
} from './row-filter.ts';
import { readString } from './rows.ts';
import { runEverything } from './search/run-everything.ts';
import { runSearch } from './search/run-search.ts';
import type { StringNormalizer } from './search/string-normalizer.ts';
import { prepared, type Sql, sql } from './sql.ts';
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
  /**
   * The notification that tells other nodes of a transaction's writes (change-notifications.ts),
   * sent with its COMMIT so that they hear exactly what commits; `undefined`: nothing to announce.
   */
  announceWrites?: (resourceTypes: ReadonlySet<string>) => ChangeNotice | undefined;
}

export function createResourceStore(
  db: Database,
  indexer: ResourceIndexer,
  options: ResourceStoreOptions = {},
): ResourceStore {
  const normalize = options.normalizeString ?? normalizeString;
  const rowFilter: RowFilterSource = options.rowFilter ?? NO_ROW_FILTER;
  const reads = storeReads(db, normalize, rowFilter);
  const writeDeps: WriteDeps = { indexer, recorders: options.recorders ?? [] };
  return {
    ...reads,
    transact<T>(_ctx: RequestContext, work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
      const written = new Set<string>();
      return db
        .transaction(async (connection) => {
          const tx = storeTransaction(connection, writeDeps, normalize, rowFilter, written);
          try {
            const result = await work(tx.transaction);
            await tx.flush();
            await tx.refuseWritesOutOfReach();
            const notice = written.size > 0 ? options.announceWrites?.(written) : undefined;
            if (notice !== undefined) {
              if (connection.notifyOnCommit !== undefined)
                connection.notifyOnCommit(notice.channel, notice.payload);
              else await connection.query(sql`select pg_notify(${notice.channel}, ${notice.payload})`);
            }
            return result;
          } finally {
            tx.end();
          }
        })
        .finally(() => {
          // Only now may the access decision's kept relationships be renewed (access/): before the
          // commit, another read would see the old rows and keep them as new. After a rollback too:
          // a read that joined the transaction (joined-transactions.ts) may have kept its rows.
          if (written.size > 0) rowFilter.committed?.(written);
        });
    },
    async history(ctx: RequestContext, query: HistoryQuery): Promise<HistoryPage> {
      return readHistory(db, query, await rowFilter.filter(ctx, { kind: 'history' }, { db }));
    },
    reindex(_ctx: RequestContext, batch: ReindexBatch): Promise<ReindexedBatch> {
      return reindexBatch(db, indexer, batch);
    },
    async countCurrent(ctx: RequestContext, resourceTypes: readonly string[]): Promise<number> {
      return countCurrent(db, resourceTypes, await rowFilter.filter(ctx, { kind: 'count' }, { db }));
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
  uncommitted?: ReadonlySet<string>,
): StoreReads {
  const reader: FilterReader = { db: executor, ...(uncommitted !== undefined ? { uncommitted } : {}) };
  return {
    // A resource the decision hides reads as one that never existed (the core answers 404), so a
    // read cannot reveal that it exists; the hidden read is still one statement, no extra lookup.
    read: async (ctx, resourceType, id) =>
      readOne(
        executor,
        await rowFilter.filter(ctx, READ, reader),
        resourceType,
        id,
        sql`from resource r where r.resource_type = ${resourceType} and r.id = ${id}`,
      ),
    readVersion: async (ctx, resourceType, id, versionId) =>
      readOne(
        executor,
        await rowFilter.filter(ctx, READ, reader),
        resourceType,
        id,
        sql`from resource_history r
          where r.resource_type = ${resourceType} and r.id = ${id} and r.version_id = ${versionId}`,
      ),
    async search(ctx, search) {
      const intent: ReadIntent = {
        kind: 'search',
        resourceTypes: search.resourceTypes,
        filters: search.filters,
      };
      return runSearch(executor, search, normalize, await rowFilter.filter(ctx, intent, reader));
    },
    async everything(ctx, query) {
      return runEverything(executor, query, await rowFilter.filter(ctx, EVERYTHING, reader));
    },
  };
}

/**
 * One row by id under the access decision. Prepared either way: the statement's text is the same
 * for every read by one kind of principal. A decision that can judge the row by its id alone
 * (`visibleById`) costs the database nothing; one that can judge it by its compartments
 * (`visibleIn`) gets them in the same statement, one index probe; otherwise its condition is
 * added to the statement.
 */
async function readOne(
  executor: SqlExecutor,
  rows: RowFilter | undefined,
  resourceType: string,
  id: string,
  from: Sql,
): Promise<StoredVersion | undefined> {
  const byId = rows?.visibleById?.(resourceType, id);
  if (byId === false) return undefined;
  if (byId === undefined && rows?.visibleIn !== undefined) {
    const [row] = await executor.query(
      prepared(sql`select ${versionColumns}, array(select c.patient_id from compartment c
        where c.resource_type = r.resource_type and c.id = r.id) as access_patients ${from}`),
    );
    if (row === undefined) return undefined;
    return rows.visibleIn(resourceType, readTextArray(row, 'access_patients'))
      ? storedVersionFromRow(row)
      : undefined;
  }
  const where = rows === undefined || byId === true ? from : sql`${from} and ${visible(rows, resourceType)}`;
  const [row] = await executor.query(prepared(sql`select ${versionColumns} ${where}`));
  return row === undefined ? undefined : storedVersionFromRow(row);
}

/** A `text[]` column; both drivers return arrays of text as JavaScript arrays. */
function readTextArray(row: Row, column: string): string[] {
  const value = row[column];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new Error(`Column ${column} is not an array of text`);
  }
  return value;
}

/**
 * A write may not land on a resource the access decision hides: the core read it as absent, so an
 * update would silently overwrite it. It is refused as a taken id (409), the answer a create that
 * lost a race for its id gets, so it says no more than that the id is in use.
 */
async function refuseHiddenTarget(
  executor: SqlExecutor,
  rows: RowFilter,
  change: ResourceChange,
): Promise<void> {
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
  written: Set<string>,
): {
  transaction: StoreTransaction;
  flush(): Promise<void>;
  refuseWritesOutOfReach(): Promise<void>;
  end(): void;
} {
  let open = true;
  // What this transaction wrote, by request context and action (created: `collect`, else
  // `correct`): each must end within its writer's reach for that action.
  const landed = new Map<RequestContext, Map<WriteAction, { types: string[]; ids: string[] }>>();
  // Queued writes are written before any other statement sees the database (batched-writes.ts).
  const writes = new WriteQueue(writeDeps);
  const flush = (): Promise<void> => writes.flush(connection);
  const live: TransactionExecutor = {
    startedAt: connection.startedAt,
    async query(statement) {
      if (!open) throw new Error('This store transaction has ended; use a new transact() call');
      if (writes.length > 0) await flush();
      return connection.query(statement);
    },
    async executeScript(script) {
      if (!open) throw new Error('This store transaction has ended; use a new transact() call');
      if (writes.length > 0) await flush();
      return connection.executeScript(script);
    },
  };
  const reader: FilterReader = { db: live, uncommitted: written };
  const reads = storeReads(live, normalize, rowFilter, written);
  const land = (ctx: RequestContext, version: StoredVersion): StoredVersion => {
    if (version.deleted) return version;
    const action: WriteAction = version.versionId === 1 ? 'collect' : 'correct';
    const byAction = landed.get(ctx) ?? new Map<WriteAction, { types: string[]; ids: string[] }>();
    const entry = byAction.get(action) ?? { types: [], ids: [] };
    entry.types.push(version.resourceType);
    entry.ids.push(version.id);
    byAction.set(action, entry);
    landed.set(ctx, byAction);
    return version;
  };
  // A deletion the decision lets the principal read but not correct (a Consent denying `correct`).
  const refuseUncorrectable = async (ctx: RequestContext, change: ResourceDeletion): Promise<void> => {
    const rows = await rowFilter.filter(ctx, { kind: 'write', action: 'correct' }, reader);
    if (rows === undefined) return;
    const [refused] = await live.query(sql`select 1 from resource r
      where r.resource_type = ${change.resourceType} and r.id = ${change.id} and not r.deleted
        and not (${visible(rows, change.resourceType)})`);
    if (refused !== undefined) {
      throw fhirError(
        'forbidden',
        'forbidden',
        `${change.resourceType}/${change.id} may not be deleted by this principal`,
      );
    }
  };
  // What `ctx` wrote doing `action` must lie within its reach for that action.
  const refuseOutOfReach = async (
    ctx: RequestContext,
    action: WriteAction,
    { types, ids }: { types: string[]; ids: string[] },
  ): Promise<void> => {
    const rows = await rowFilter.filter(ctx, { kind: 'write', action }, reader);
    if (rows === undefined) return;
    const [outside] = await live.query(sql`select r.resource_type, r.id from resource r
      where (r.resource_type, r.id) in (select * from unnest(${types}::text[], ${ids}::text[]))
        and not r.deleted and not (${rows.visible(sql`r`, [...new Set(types)])})
      limit 1`);
    if (outside !== undefined) {
      throw fhirError(
        'forbidden',
        'forbidden',
        `${readString(outside, 'resource_type')}/${readString(outside, 'id')} would be outside the records this principal may access`,
      );
    }
  };
  const transaction: StoreTransaction = {
    ...reads,
    // A locked resource reads as this transaction left it, without a statement, for a context the
    // access decision does not restrict; any other reads it under the decision.
    async read(ctx, resourceType, id) {
      const known = writes.known(resourceType, id);
      if (known !== undefined && (await rowFilter.filter(ctx, READ, reader)) === undefined) {
        return known ?? undefined;
      }
      return reads.read(ctx, resourceType, id);
    },
    sql: live,
    async lockForWrite(targets: readonly ResourceKey[]): Promise<void> {
      if (!open) throw new Error('This store transaction has ended; use a new transact() call');
      await writes.lockForWrite(live, targets);
    },
    async lock(key: string): Promise<void> {
      // Transaction-scoped: released by COMMIT/ROLLBACK, so an exception cannot leak a lock.
      await live.query(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
    },
    async apply(ctx: RequestContext, change: ResourceChange): Promise<StoredVersion> {
      if (!open) throw new Error('This store transaction has ended; use a new transact() call');
      written.add(change.kind === 'write' ? change.resource.resourceType : change.resourceType);
      // A fresh id needs no access check; any other target must not be one the decision hides.
      const rows = isQueueableCreate(change) ? undefined : await rowFilter.filter(ctx, READ, reader);
      if (rows === undefined) {
        const queued = await writes.add(connection, ctx, change);
        if (queued !== undefined) return land(ctx, queued);
      } else {
        await refuseHiddenTarget(live, rows, change);
        if (change.kind === 'delete') await refuseUncorrectable(ctx, change);
      }
      const version = await applyChange(live, writeDeps, ctx, change);
      writes.remember(version);
      return land(ctx, version);
    },
  };
  return {
    transaction,
    flush,
    /**
     * A principal may write only what it may then read (docs/security.md): a specialist cannot
     * record into an episode not theirs, a patient into another compartment. Checked once, after
     * the last write, so a transaction may create a relationship and what it reaches together —
     * asked as a write (row-filter.ts `ReadIntent`), so a Consent denying only `correct` or
     * `collect` applies here and not to reads.
     */
    async refuseWritesOutOfReach() {
      for (const [ctx, byAction] of landed) {
        for (const [action, written] of byAction) await refuseOutOfReach(ctx, action, written);
      }
    },
    end() {
      open = false;
    },
  };
}
