/**
 * Writes that need nothing read before they are written are queued by the store transaction and
 * written together, in one statement, right before its next statement of any other kind and
 * before COMMIT. Two kinds qualify:
 * - a create with a server-assigned id (every POST entry of a transaction Bundle, `POST /Type`):
 *   the version is 1 and the id is new;
 * - a write of a resource whose current row the transaction has read and locked up front
 *   (`lockForWrite`: one statement for every PUT entry of a transaction Bundle, an import batch
 *   among them): the version follows the locked one, or is 1 for an id that does not exist yet.
 * The statement inserts the new resources and updates the locked ones, copies both into history,
 * clears the updated resources' old index rows, inserts every index table's rows through `unnest`
 * and adds what the version recorders record (port.ts `recordMany`). A Synthea patient Bundle of
 * 300 entries or an import batch of 500 PUTs then costs a few round trips instead of 300 or 1,500.
 *
 * A locked row cannot change under the transaction. An id that did not exist has no row to lock:
 * if another writer creates it (or picks the same UUID) meanwhile, the insert writes nothing, the
 * counts differ, and the queue fails with a 409 that rolls the transaction back, as it would have
 * entry by entry.
 */
import { fhirError } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { TransactionExecutor } from './database.ts';
import { columnNames, INDEX_TABLES, type IndexCell, selectedColumns, tableName } from './index-tables.ts';
import type {
  RecordedVersion,
  ResourceChange,
  ResourceKey,
  ResourceWrite,
  StoredVersion,
  VersionRecorder,
} from './port.ts';
import { identifier, joinSql, prepared, type Sql, sql } from './sql.ts';
import { storedVersionFromRow, versionColumns } from './stored-version.ts';
import {
  alreadyExists,
  checkIfMatch,
  countWritten,
  historyFromWritten,
  indexRows,
  recorded,
  stamp,
  type WriteDeps,
} from './write-change.ts';

/** Most writes in one statement: bounds the statement's size and the memory held. */
const MAX_QUEUED = 1_000;

interface QueuedWrite {
  version: StoredVersion & { json: string };
  /** `true`: the row exists and is locked, so the version updates it; `false`: it is inserted. */
  update: boolean;
  /** Per index table, per column, the values of this resource's rows (write-change.ts indexRows). */
  index: IndexCell[][][];
  recorded: RecordedVersion;
}

/** A create whose id the server chose: nothing to lock, nothing to compare. */
export function isQueueableCreate(change: ResourceChange): change is ResourceWrite {
  return change.kind === 'write' && change.mustNotExist === true && change.ifMatch === undefined;
}

function keyOf(resourceType: string, id: string): string {
  return `${resourceType}/${id}`;
}

export class WriteQueue {
  private queued: QueuedWrite[] = [];
  /** Keys of `queued`: a second write of one resource must wait for the first to be written. */
  private readonly queuedKeys = new Set<string>();
  /**
   * Resources locked by `lockForWrite`, as this transaction has left them: the current version
   * (a tombstone if deleted), or `null` for an id that does not exist.
   */
  private readonly locked = new Map<string, StoredVersion | null>();

  constructor(private readonly deps: WriteDeps) {}

  get length(): number {
    return this.queued.length;
  }

  /**
   * Reads and locks (`for update`, in key order, so that transactions locking the same rows wait
   * for each other instead of deadlocking) the current rows of `targets` in one statement.
   */
  async lockForWrite(tx: TransactionExecutor, targets: readonly ResourceKey[]): Promise<void> {
    const fresh = targets.filter((target) => !this.locked.has(keyOf(target.resourceType, target.id)));
    if (fresh.length === 0) return;
    const rows = await tx.query(
      prepared(sql`select ${versionColumns} from resource r
        where (r.resource_type, r.id) in (select * from unnest(
          ${fresh.map((target) => target.resourceType)}::text[], ${fresh.map((target) => target.id)}::text[]))
        order by r.resource_type, r.id
        for update of r`),
    );
    for (const target of fresh) this.locked.set(keyOf(target.resourceType, target.id), null);
    for (const row of rows) {
      const version = storedVersionFromRow(row);
      this.locked.set(keyOf(version.resourceType, version.id), version);
    }
  }

  /**
   * The current version of a locked resource as this transaction left it (`null`: it does not
   * exist); `undefined` when it was not locked, and must be read.
   */
  known(resourceType: string, id: string): StoredVersion | null | undefined {
    return this.locked.get(keyOf(resourceType, id));
  }

  /** A version of a locked resource written past the queue (a delete): what reads now answer. */
  remember(version: StoredVersion): void {
    const key = keyOf(version.resourceType, version.id);
    if (this.locked.has(key)) this.locked.set(key, version);
  }

  /**
   * Queues the write and returns the version it will be, when nothing must be read to write it;
   * `undefined` when it must be applied statement by statement (write-change.ts). Refuses, as
   * that path would, a create of an existing id (409) and an `If-Match` of another version (412).
   */
  async add(
    tx: TransactionExecutor,
    ctx: RequestContext,
    change: ResourceChange,
  ): Promise<StoredVersion | undefined> {
    if (change.kind !== 'write') return undefined;
    const { resourceType, id } = change.resource;
    const key = keyOf(resourceType, id);
    const current = this.locked.get(key);
    if (current === undefined && !isQueueableCreate(change)) return undefined;
    if (change.mustNotExist === true && current !== undefined && current !== null) {
      throw alreadyExists(resourceType, id);
    }
    checkIfMatch(change.ifMatch, current ?? undefined, resourceType, id);
    if (this.queuedKeys.has(key) || this.queued.length >= MAX_QUEUED) await this.flush(tx);

    const versionId = (current?.versionId ?? 0) + 1;
    const resource = stamp(change.resource, versionId, tx.startedAt);
    const json = JSON.stringify(resource);
    const version = {
      resourceType,
      id,
      versionId,
      lastUpdated: tx.startedAt,
      method: change.method,
      deleted: false,
      json,
    };
    this.queued.push({
      version,
      update: current !== undefined && current !== null,
      index: indexRows(this.deps.indexer(resource)),
      recorded: { ctx, version, resource },
    });
    this.queuedKeys.add(key);
    if (current !== undefined) this.locked.set(key, version);
    return version;
  }

  async flush(tx: TransactionExecutor): Promise<void> {
    const batch = this.queued;
    if (batch.length === 0) return;
    this.queued = [];
    this.queuedKeys.clear();
    const count = await countWritten(tx, batchStatement(batch, tx.startedAt, this.deps.recorders));
    if (count !== batch.length) {
      throw fhirError(
        'conflict',
        'conflict',
        `${batch.length - count} of ${batch.length} resources were created or changed by a concurrent write; retry`,
      );
    }
  }
}

function batchStatement(
  batch: readonly QueuedWrite[],
  now: string,
  recorders: readonly VersionRecorder[],
): Sql {
  const inserts = batch.filter((write) => !write.update).map((write) => write.version);
  const updates = batch.filter((write) => write.update).map((write) => write.version);
  const column = <T>(versions: readonly StoredVersion[], pick: (version: StoredVersion) => T): T[] =>
    versions.map(pick);
  const inserted = sql`insert into resource (resource_type, id, version_id, last_updated, method, deleted, content)
    select u.resource_type, u.id, u.version_id, ${now}::timestamptz, u.method, false, u.content
    from unnest(${column(inserts, (v) => v.resourceType)}::text[], ${column(inserts, (v) => v.id)}::text[],
      ${column(inserts, (v) => v.versionId)}::bigint[], ${column(inserts, (v) => v.method)}::text[],
      ${contentList(inserts)})
      as u(resource_type, id, version_id, method, content)
    on conflict (resource_type, id) do nothing returning *`;
  // The row is locked, so it is still the version before this one; the condition is a guard.
  const updated = sql`update resource r set version_id = u.version_id, last_updated = ${now}::timestamptz,
      method = u.method, deleted = false, content = u.content
    from unnest(${column(updates, (v) => v.resourceType)}::text[], ${column(updates, (v) => v.id)}::text[],
      ${column(updates, (v) => v.versionId)}::bigint[], ${column(updates, (v) => v.method)}::text[],
      ${contentList(updates)})
      as u(resource_type, id, version_id, method, content)
    where r.resource_type = u.resource_type and r.id = u.id and r.version_id = u.version_id - 1
    returning r.*`;
  return sql`with inserted as (${inserted}), updated as (${updated}),
    written as (select * from inserted union all select * from updated),
    ${historyFromWritten}${clearIndexes(updates)}${insertIndexes(batch)}${recordedBatch(batch, recorders)}
    select count(*) as written from history`;
}

/**
 * U+001E (record separator) between the JSON of the versions. A `text[]` parameter would cost more
 * than anything else in the statement: node-postgres writes an array literal element by element,
 * escaping every quote of the JSON with two regular expressions (50–70 µs a Synthea resource), and
 * PostgreSQL unescapes it again in `array_in`. `JSON.stringify` escapes every control character
 * inside strings and adds no whitespace, so the separator cannot occur in the JSON and
 * `string_to_array` gives back exactly the texts joined (none for an empty list).
 */
const CONTENT_SEPARATOR = '\u001e';

function contentList(versions: readonly (StoredVersion & { json: string })[]): Sql {
  const joined = versions.map((version) => version.json).join(CONTENT_SEPARATOR);
  return sql`string_to_array(${joined}::text, ${CONTENT_SEPARATOR}::text)`;
}

/**
 * The old index rows of the updated resources. Every CTE of the statement sees the snapshot from
 * before it, so these deletes cannot remove the rows inserted beside them.
 */
function clearIndexes(updates: readonly StoredVersion[]): Sql {
  const types = updates.map((version) => version.resourceType);
  const ids = updates.map((version) => version.id);
  const clears = INDEX_TABLES.map(
    (table) => sql`${identifier(`cleared_${table.name}`)} as (
      delete from ${tableName(table)} t using unnest(${types}::text[], ${ids}::text[]) as c(resource_type, id)
      where t.resource_type = c.resource_type and t.id = c.id)`,
  );
  return sql`, ${joinSql(clears, ',\n    ')}`;
}

/** Each recorder's statements for the whole batch: multi-row where it can (`recordMany`), else per version. */
function recordedBatch(batch: readonly QueuedWrite[], recorders: readonly VersionRecorder[]): Sql {
  const versions = batch.map((write) => write.recorded);
  const statements = recorders.flatMap((recorder) => {
    if (recorder.recordMany !== undefined) {
      return [recorded([recorder], { many: versions }, 'recorded_batch')];
    }
    // CTE names must be unique in the batch's one statement.
    return versions.map((version, position) => recorded([recorder], version, `recorded_${position}`));
  });
  return joinSql(statements, '');
}

/** Every index table's rows of the whole batch, one `unnest` insert per table. */
function insertIndexes(batch: readonly QueuedWrite[]): Sql {
  const inserts = INDEX_TABLES.map((table, position) => {
    const types: string[] = [];
    const ids: string[] = [];
    const columns: IndexCell[][] = table.columns.map(() => []);
    for (const write of batch) {
      const values = write.index[position] ?? [];
      const rowCount = values[0]?.length ?? 0;
      for (let row = 0; row < rowCount; row++) {
        types.push(write.version.resourceType);
        ids.push(write.version.id);
      }
      table.columns.forEach((_, column) => {
        const target = columns[column];
        for (const value of values[column] ?? []) target?.push(value);
      });
    }
    const names = columnNames(table);
    const unnested = joinSql(
      table.columns.map((column, index) => sql`${columns[index] ?? []}${column.arrayCast}`),
      ', ',
    );
    return sql`${identifier(`inserted_${table.name}`)} as (
      insert into ${tableName(table)} (resource_type, id, ${names})
      select u.resource_type, u.id, ${selectedColumns(table)}
      from unnest(${types}::text[], ${ids}::text[], ${unnested}) as u(resource_type, id, ${names}))`;
  });
  return sql`, ${joinSql(inserts, ',\n    ')}`;
}
