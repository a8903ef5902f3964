/**
 * Creates with a server-assigned id — every POST entry of a transaction Bundle, every `POST /Type`
 * — need nothing read before they are written: the version is 1, the time is the transaction's and
 * the id is new. So a store transaction queues them and writes the whole queue in one statement
 * (resources, history, every index table through `unnest`, and what the version recorders add)
 * right before its next statement of any other kind, and before COMMIT. A Synthea patient Bundle
 * of 300 entries then costs a few round trips instead of 300.
 *
 * The id can only turn out to be taken if another writer chose the same UUID: the queue then fails
 * with a 409 and the transaction rolls back, as it would have entry by entry.
 */
import { fhirError } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { TransactionExecutor } from './database.ts';
import { columnNames, INDEX_TABLES, type IndexCell, selectedColumns, tableName } from './index-tables.ts';
import type {
  RecordedVersion,
  ResourceChange,
  ResourceWrite,
  StoredVersion,
  VersionRecorder,
} from './port.ts';
import { identifier, joinSql, type Sql, sql } from './sql.ts';
import {
  countWritten,
  historyFromWritten,
  indexRows,
  recorded,
  stamp,
  type WriteDeps,
} from './write-change.ts';

/** Most creates written by one statement: bounds the statement's size and the memory held. */
const MAX_QUEUED = 1_000;

interface QueuedCreate {
  version: StoredVersion & { json: string };
  /** Per index table, per column, the values of this resource's rows (write-change.ts indexRows). */
  index: IndexCell[][][];
  recorded: RecordedVersion;
}

/** A create whose id the server chose: nothing to lock, nothing to compare. */
export function isQueueableCreate(change: ResourceChange): change is ResourceWrite {
  return change.kind === 'write' && change.mustNotExist === true && change.ifMatch === undefined;
}

export class CreateQueue {
  private queued: QueuedCreate[] = [];

  constructor(private readonly deps: WriteDeps) {}

  get length(): number {
    return this.queued.length;
  }

  /** Queues the create and returns the version it will be; `flush` writes it. */
  add(ctx: RequestContext, change: ResourceWrite, now: string): StoredVersion {
    const resource = stamp(change.resource, 1, now);
    const json = JSON.stringify(resource);
    const version = {
      resourceType: resource.resourceType,
      id: resource.id,
      versionId: 1,
      lastUpdated: now,
      method: change.method,
      deleted: false,
      json,
    };
    this.queued.push({
      version,
      index: indexRows(this.deps.indexer(resource)),
      recorded: { ctx, version, resource },
    });
    return version;
  }

  /** True when the queue should be written before more is added. */
  get full(): boolean {
    return this.queued.length >= MAX_QUEUED;
  }

  async flush(tx: TransactionExecutor): Promise<void> {
    const batch = this.queued;
    if (batch.length === 0) return;
    this.queued = [];
    const count = await countWritten(tx, batchStatement(batch, tx.startedAt, this.deps.recorders));
    if (count !== batch.length) {
      throw fhirError(
        'conflict',
        'conflict',
        `${batch.length - count} of ${batch.length} new resources found their id taken by a concurrent write; retry`,
      );
    }
  }
}

function batchStatement(
  batch: readonly QueuedCreate[],
  now: string,
  recorders: readonly VersionRecorder[],
): Sql {
  const versions = batch.map((create) => create.version);
  const written = sql`insert into resource (resource_type, id, version_id, last_updated, method, deleted, content)
    select u.resource_type, u.id, 1, ${now}::timestamptz, u.method, false, u.content
    from unnest(${versions.map((v) => v.resourceType)}::text[], ${versions.map((v) => v.id)}::text[],
      ${versions.map((v) => v.method)}::text[], ${versions.map((v) => v.json)}::text[])
      as u(resource_type, id, method, content)
    on conflict (resource_type, id) do nothing returning *`;
  return sql`with written as (${written}), ${historyFromWritten}${insertIndexes(batch)}${recordedBatch(batch, recorders)}
    select count(*) as written from history`;
}

/** Each recorder's statements for the whole batch: multi-row where it can (`recordMany`), else per version. */
function recordedBatch(batch: readonly QueuedCreate[], recorders: readonly VersionRecorder[]): Sql {
  const versions = batch.map((create) => create.recorded);
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
function insertIndexes(batch: readonly QueuedCreate[]): Sql {
  const inserts = INDEX_TABLES.map((table, position) => {
    const types: string[] = [];
    const ids: string[] = [];
    const columns: IndexCell[][] = table.columns.map(() => []);
    for (const create of batch) {
      const values = create.index[position] ?? [];
      const rowCount = values[0]?.length ?? 0;
      for (let row = 0; row < rowCount; row++) {
        types.push(create.version.resourceType);
        ids.push(create.version.id);
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
