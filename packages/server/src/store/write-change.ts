/**
 * One change is one or two statements inside the caller's transaction:
 * 1. (updates, deletes, client-chosen ids) lock the current row `for update`, which serialises
 *    concurrent writers of one resource and gives each the version it must follow;
 * 2. one multi-CTE statement writing `resource`, `resource_history`, the index rows (arrays
 *    through `unnest`) and the compartment rows.
 * A create with a server-assigned id skips step 1: `on conflict do nothing` tells us if the id
 * was taken. The JSON is serialised once, in Node, with `meta.lastUpdated` = the transaction
 * timestamp (read with BEGIN), and the same value goes into `last_updated`: the database clock is
 * the only clock. The write statements have three fixed shapes, so PostgreSQL prepares them once.
 */
import { type FhirError, fhirError, type IdentifiedResource, type ResourceIndex } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import { sqlState, type TransactionExecutor, UNIQUE_VIOLATION } from './database.ts';
import { columnNames, INDEX_TABLES, type IndexCell, selectedColumns, tableName } from './index-tables.ts';
import type {
  RecordedVersion,
  ResourceChange,
  ResourceDeletion,
  ResourceWrite,
  StoredVersion,
  VersionRecorder,
} from './port.ts';
import { readBoolean, readNumber, readString } from './rows.ts';
import { cteList, emptySql, identifier, joinSql, planOnce, prepared, Sql, sql } from './sql.ts';
import { readMethod } from './stored-version.ts';

/** Computes what a resource contributes to the search index and compartments (a pure function). */
export type ResourceIndexer = (resource: IdentifiedResource) => ResourceIndex;

interface CurrentRow {
  versionId: number;
  deleted: boolean;
  lastUpdated: string;
  method: StoredVersion['method'];
}

const DEADLOCK_DETECTED = '40P01';

/** What writing one change needs besides the change: the indexer and the version recorders (port.ts). */
export interface WriteDeps {
  indexer: ResourceIndexer;
  recorders: readonly VersionRecorder[];
}

export async function applyChange(
  tx: TransactionExecutor,
  deps: WriteDeps,
  ctx: RequestContext,
  change: ResourceChange,
): Promise<StoredVersion> {
  try {
    return change.kind === 'write'
      ? await writeResource(tx, deps, ctx, change)
      : await deleteResource(tx, deps, ctx, change);
  } catch (error) {
    throw conflictFrom(error, change) ?? error;
  }
}

async function writeResource(
  tx: TransactionExecutor,
  deps: WriteDeps,
  ctx: RequestContext,
  change: ResourceWrite,
): Promise<StoredVersion> {
  const { resourceType, id } = change.resource;
  const freshId = change.mustNotExist === true && change.ifMatch === undefined;
  const current = freshId ? undefined : await lockCurrent(tx, resourceType, id);
  if (change.mustNotExist === true && current !== undefined) throw alreadyExists(resourceType, id);
  checkIfMatch(change.ifMatch, current, resourceType, id);

  const now = tx.startedAt;
  const versionId = (current?.versionId ?? 0) + 1;
  const resource = stamp(change.resource, versionId, now);
  const json = JSON.stringify(resource);
  const index = indexRows(deps.indexer(resource));
  const version: StoredVersion = {
    resourceType,
    id,
    versionId,
    lastUpdated: now,
    method: change.method,
    deleted: false,
    json,
  };
  const written =
    current === undefined
      ? sql`insert into resource (resource_type, id, version_id, last_updated, method, deleted, content)
          values (${resourceType}, ${id}, ${versionId}, ${now}::timestamptz, ${change.method}, false, ${json})
          on conflict (resource_type, id) do nothing returning *`
      : sql`update resource set version_id = ${versionId}, last_updated = ${now}::timestamptz,
          method = ${change.method}, deleted = false, content = ${json}
          where resource_type = ${resourceType} and id = ${id} returning *`;
  // A first version has no old index rows to clear: skip eight index probes on the hot create path.
  const clear = current === undefined ? sql`` : clearIndex(resourceType, id);
  const count = await countWritten(
    tx,
    sql`with written as (${written}), ${historyFromWritten}${clear}${insertIndex(resourceType, id, index)}${recorded(deps.recorders, { ctx, version, resource })}
    select count(*) as written from history`,
  );
  if (count === 0) {
    // Only the insert can write nothing: another transaction took the id since we looked.
    if (change.mustNotExist === true) throw alreadyExists(resourceType, id);
    throw fhirError('conflict', 'conflict', `${resourceType}/${id} was created concurrently; retry`);
  }
  return version;
}

async function deleteResource(
  tx: TransactionExecutor,
  deps: WriteDeps,
  ctx: RequestContext,
  change: ResourceDeletion,
): Promise<StoredVersion> {
  const { resourceType, id } = change;
  const current = await lockCurrent(tx, resourceType, id);
  checkIfMatch(change.ifMatch, current, resourceType, id);
  if (current === undefined)
    throw fhirError('not-found', 'not-found', `${resourceType}/${id} does not exist`);
  if (current.deleted) {
    // Deleting twice is a success that changes nothing (http.html#delete).
    return { resourceType, id, ...current };
  }
  const versionId = current.versionId + 1;
  const version: StoredVersion = {
    resourceType,
    id,
    versionId,
    lastUpdated: tx.startedAt,
    method: 'DELETE',
    deleted: true,
  };
  const count = await countWritten(
    tx,
    sql`with written as (
      update resource set version_id = ${versionId}, last_updated = ${tx.startedAt}::timestamptz,
        method = 'DELETE', deleted = true, content = null
      where resource_type = ${resourceType} and id = ${id} returning *),
    ${historyFromWritten}${clearIndex(resourceType, id)}${recorded(deps.recorders, { ctx, version })}
    select count(*) as written from history`,
  );
  if (count !== 1) throw new Error(`Deleting the locked row ${resourceType}/${id} wrote ${count} versions`);
  return version;
}

async function lockCurrent(
  tx: TransactionExecutor,
  resourceType: string,
  id: string,
): Promise<CurrentRow | undefined> {
  const [row] = await tx.query(
    prepared(sql`select version_id, deleted, last_updated, method from resource
      where resource_type = ${resourceType} and id = ${id} for update`),
  );
  if (row === undefined) return undefined;
  return {
    versionId: readNumber(row, 'version_id'),
    deleted: readBoolean(row, 'deleted'),
    lastUpdated: readString(row, 'last_updated'),
    method: readMethod(row, 'method'),
  };
}

export function alreadyExists(resourceType: string, id: string): FhirError {
  return fhirError('conflict', 'duplicate', `${resourceType}/${id} already exists`);
}

export function checkIfMatch(
  ifMatch: number | undefined,
  current: CurrentRow | undefined,
  resourceType: string,
  id: string,
): void {
  if (ifMatch === undefined || current?.versionId === ifMatch) return;
  const actual = current === undefined ? 'it does not exist' : `the current version is ${current.versionId}`;
  throw fhirError(
    'precondition-failed',
    'conflict',
    `If-Match expected version ${ifMatch} of ${resourceType}/${id}, but ${actual}`,
  );
}

/** The resource with the store's meta; `resourceType`, `id`, `meta` lead, as in the spec's examples. */
export function stamp(
  resource: IdentifiedResource,
  versionId: number,
  lastUpdated: string,
): IdentifiedResource {
  const { resourceType, id, meta } = resource;
  // One copy, not a rest object and then a spread of it: this runs for every version written.
  const stamped: IdentifiedResource = {
    resourceType,
    id,
    meta: { ...meta, versionId: String(versionId), lastUpdated },
  };
  for (const key of Object.keys(resource)) {
    if (key !== 'resourceType' && key !== 'id' && key !== 'meta') stamped[key] = resource[key];
  }
  return stamped;
}

// The JSON travels once: the history row copies what the `written` CTE returns.
export const historyFromWritten = sql`history as (
    insert into resource_history (resource_type, id, version_id, last_updated, method, deleted, content)
    select resource_type, id, version_id, last_updated, method, deleted, content from written
    returning version_id)`;

// In one statement every CTE sees the same snapshot, so these deletes remove only the old rows and
// never the ones inserted beside them.
function clearIndex(resourceType: string, id: string): Sql {
  const key = sql`resource_type = ${resourceType} and id = ${id}`;
  const clears = INDEX_TABLES.map(
    (table) => sql`${identifier(`cleared_${table.name}`)} as (delete from ${tableName(table)} where ${key})`,
  );
  return sql`, ${joinSql(clears, ',\n    ')}`;
}

/** Each table's rows as one array per column, duplicates removed (one row per fact is enough). */
export function indexRows(index: ResourceIndex): IndexCell[][][] {
  return INDEX_TABLES.map((table) => {
    const rows = distinct(table.rows(index));
    return table.columns.map((_, position) => rows.map((row) => row[position] ?? null));
  });
}

// Every index CTE is present even when its arrays are empty (unnest of nothing inserts nothing),
// so the statement keeps one shape. `exists (select from written)` makes a create that found its
// id taken write no index rows either.
function insertIndex(resourceType: string, id: string, columnsByTable: IndexCell[][][]): Sql {
  const inserts = INDEX_TABLES.map((table, position) => {
    const arrays = columnsByTable[position] ?? [];
    const names = columnNames(table);
    const selected = selectedColumns(table);
    const unnested = joinSql(
      table.columns.map((column, index) => sql`${arrays[index] ?? []}${column.arrayCast}`),
      ', ',
    );
    return sql`${identifier(`inserted_${table.name}`)} as (
      insert into ${tableName(table)} (resource_type, id, ${names})
      select ${resourceType}, ${id}, ${selected} from unnest(${unnested}) as u(${names})
      where exists (select from written))`;
  });
  return sql`, ${joinSql(inserts, ',\n    ')}`;
}

/** The recorders' statements as CTEs of the write statement (port.ts `VersionRecorder`). */
export function recorded(
  recorders: readonly VersionRecorder[],
  version: RecordedVersion | { many: readonly RecordedVersion[] },
  prefix = 'recorded',
): Sql {
  const statements: Sql[] = [];
  for (const recorder of recorders) {
    const recorderStatements =
      'many' in version ? (recorder.recordMany?.(version.many) ?? []) : recorder.record(version);
    recorderStatements.forEach((statement, index) => {
      statements.push(
        statement instanceof Sql
          ? sql`${identifier(`${prefix}_${recorder.name}_${index}`)} as (${statement})`
          : cteList([statement]),
      );
    });
  }
  return statements.length === 0 ? emptySql : sql`, ${joinSql(statements, ',\n    ')}`;
}

function distinct(rows: readonly (readonly IndexCell[])[]): (readonly IndexCell[])[] {
  if (rows.length < 2) return [...rows];
  const seen = new Map<string, readonly IndexCell[]>();
  for (const row of rows) {
    let key = '';
    for (const cell of row) key += `${cell ?? '\u0000'}\u0001`;
    seen.set(key, row);
  }
  return [...seen.values()];
}

export async function countWritten(tx: TransactionExecutor, statement: Sql): Promise<number> {
  const [row] = await tx.query(planOnce(statement));
  return row === undefined ? 0 : readNumber(row, 'written');
}

/**
 * Safety net: the statements above avoid unique violations (the row lock, `on conflict`), but a
 * deadlock between transactions that lock rows in different orders, or a violation we did not
 * foresee, is still a conflict the client may retry, never a raw database error.
 */
function conflictFrom(error: unknown, change: ResourceChange): FhirError | undefined {
  const state = sqlState(error);
  const [resourceType, id] =
    change.kind === 'write'
      ? [change.resource.resourceType, change.resource.id]
      : [change.resourceType, change.id];
  if (state === UNIQUE_VIOLATION) {
    if (change.ifMatch !== undefined) {
      return fhirError('precondition-failed', 'conflict', `${resourceType}/${id} was changed concurrently`);
    }
    return fhirError('conflict', 'conflict', `${resourceType}/${id} was created concurrently; retry`);
  }
  if (state === DEADLOCK_DETECTED) {
    return fhirError(
      'conflict',
      'transient',
      `Concurrent changes to ${resourceType}/${id} deadlocked; retry`,
    );
  }
  return undefined;
}
