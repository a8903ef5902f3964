/**
 * Reindexing (the `$reindex` job): rewrites the search-index and compartment rows of current
 * resources with the indexer as it is now — after a custom SearchParameter was added, changed or
 * removed — without writing a version: the resources, their history and `lastUpdated` stay as
 * they are.
 *
 * One batch is one transaction over up to `limit` resources of one type, in id order after a key
 * (keyset, so each batch costs the same wherever it starts). Its rows are locked `for update`, so
 * a concurrent write of one of them waits and then writes its own, newer index; a write that came
 * first is simply indexed again from what it committed.
 */
import { type IdentifiedResource, isRecord, type ResourceIndex } from '@concordia/fhir';
import type { Database, SqlExecutor } from './database.ts';
import { columnNames, INDEX_TABLES, type IndexCell, selectedColumns, tableName } from './index-tables.ts';
import type { ReindexBatch, ReindexedBatch } from './port.ts';
import type { RowFilter } from './row-filter.ts';
import { readNumber, readString } from './rows.ts';
import { identifier, joinSql, type Sql, sql } from './sql.ts';
import type { ResourceIndexer } from './write-change.ts';

export async function reindexBatch(
  db: Database,
  indexer: ResourceIndexer,
  batch: ReindexBatch,
): Promise<ReindexedBatch> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(sql`select id, content from resource
      where resource_type = ${batch.resourceType} and id > ${batch.afterId ?? ''} and not deleted
      order by id limit ${batch.limit} for update`);
    if (rows.length === 0) return { count: 0 };
    const indexed = rows.map((row) => {
      const id = readString(row, 'id');
      return { id, index: indexer(parseStored(batch.resourceType, id, readString(row, 'content'))) };
    });
    await tx.query(rewriteStatement(batch.resourceType, indexed));
    const last = indexed.at(-1);
    return { count: indexed.length, ...(last !== undefined ? { lastId: last.id } : {}) };
  });
}

/** Current (not deleted) resources of the types: the `total` a reindex job reports progress against. */
export async function countCurrent(
  executor: SqlExecutor,
  resourceTypes: readonly string[],
  access?: RowFilter,
): Promise<number> {
  const visible = access === undefined ? sql`true` : access.visible(sql`r`, resourceTypes);
  const [row] = await executor.query(sql`select count(*) as count from resource r
    where r.resource_type = any(${resourceTypes}::text[]) and not r.deleted and ${visible}`);
  return row === undefined ? 0 : readNumber(row, 'count');
}

function parseStored(resourceType: string, id: string, content: string): IdentifiedResource {
  const value: unknown = JSON.parse(content);
  if (!isRecord(value) || value.resourceType !== resourceType || value.id !== id) {
    throw new Error(`Stored content of ${resourceType}/${id} is not that resource`);
  }
  return { ...value, resourceType, id };
}

// Every CTE of one statement sees the same snapshot: the deletes remove the old rows only, never
// the ones inserted beside them (as in write-change.ts).
function rewriteStatement(
  resourceType: string,
  indexed: readonly { id: string; index: ResourceIndex }[],
): Sql {
  const ids = indexed.map((entry) => entry.id);
  const ctes = INDEX_TABLES.flatMap((table) => {
    const rows: IndexCell[][] = [];
    for (const { id, index } of indexed) {
      const seen = new Set<string>();
      for (const row of table.rows(index)) {
        const key = row.map((cell) => cell ?? '\u0000').join('\u0001');
        if (seen.has(key)) continue;
        seen.add(key);
        rows.push([id, ...row]);
      }
    }
    const names = columnNames(table);
    const selected = selectedColumns(table);
    const arrays = joinSql(
      [
        sql`${rows.map((row) => row[0] ?? null)}::text[]`,
        ...table.columns.map(
          (column, position) => sql`${rows.map((row) => row[position + 1] ?? null)}${column.arrayCast}`,
        ),
      ],
      ', ',
    );
    return [
      sql`${identifier(`cleared_${table.name}`)} as (
        delete from ${tableName(table)} where resource_type = ${resourceType} and id = any(${ids}::text[]))`,
      sql`${identifier(`inserted_${table.name}`)} as (
        insert into ${tableName(table)} (resource_type, id, ${names})
        select ${resourceType}, u.id, ${selected} from unnest(${arrays}) as u(id, ${names}))`,
    ];
  });
  return sql`with ${joinSql(ctes, ',\n  ')} select 1`;
}
