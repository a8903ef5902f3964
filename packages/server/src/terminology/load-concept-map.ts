/**
 * Writes a ConceptMap into `concept_map` and `concept_map_element` (migration 0010), from an
 * importer (the ICPC-2 → ICD-10 conversion tables) or a stored ConceptMap resource. Like code
 * systems: one transaction, a url+version loaded again replaces the earlier copy, another version
 * stays beside it.
 */
import type { Database, SqlExecutor } from '../store/database.ts';
import { readNumber } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { ConceptMapContent, ConceptMapping } from './code-system-content.ts';
import { bumpTerminologyRevision } from './terminology-revision.ts';

export interface ConceptMapLoadOptions {
  /** Called after every batch with the number of elements written so far. */
  onProgress?(loaded: number): void;
}

export interface ConceptMapWriteOptions extends ConceptMapLoadOptions {
  /** The stored ConceptMap resource the elements come from (write-hooks), if any. */
  resourceId?: string;
}

const ELEMENT_BATCH = 5_000;

export function loadConceptMap(
  db: Database,
  content: ConceptMapContent,
  options: ConceptMapLoadOptions = {},
): Promise<{ elements: number }> {
  return db.transaction((tx) => writeConceptMap(tx, content, options));
}

/** Writes `content` with `tx`, which must be inside a transaction (the caller's). */
export async function writeConceptMap(
  tx: SqlExecutor,
  content: ConceptMapContent,
  options: ConceptMapWriteOptions = {},
): Promise<{ elements: number }> {
  await removeConceptMap(tx, content.url, content.version);
  const [row] = await tx.query(sql`insert into concept_map
      (url, version, name, title, source_value_set, target_value_set, resource_id)
    values (${content.url}, ${content.version}, ${content.name}, ${content.title ?? null},
      ${content.sourceValueSet ?? null}, ${content.targetValueSet ?? null}, ${options.resourceId ?? null})
    returning id`);
  if (row === undefined) throw new Error('insert into concept_map returned no id');
  const conceptMapId = readNumber(row, 'id');

  let elements = 0;
  let batch: ConceptMapping[] = [];
  const flush = async (): Promise<void> => {
    await insertElements(tx, conceptMapId, batch);
    elements += batch.length;
    batch = [];
    options.onProgress?.(elements);
  };
  for await (const mapping of content.mappings) {
    batch.push(mapping);
    if (batch.length >= ELEMENT_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  await bumpTerminologyRevision(tx);
  return { elements };
}

/** Removes one version of a concept map (its elements cascade); no-op when it is not loaded. */
export async function removeConceptMap(tx: SqlExecutor, url: string, version: string): Promise<boolean> {
  const rows = await tx.query(
    sql`delete from concept_map where url = ${url} and version = ${version} returning id`,
  );
  if (rows.length === 0) return false;
  await bumpTerminologyRevision(tx);
  return true;
}

async function insertElements(
  tx: SqlExecutor,
  conceptMapId: number,
  mappings: readonly ConceptMapping[],
): Promise<void> {
  await tx.query(sql`insert into concept_map_element (concept_map_id, source_system, source_version,
      source_code, source_display, target_system, target_version, target_code, target_display, equivalence, comment)
    select ${conceptMapId}, t.* from unnest(
      ${mappings.map((m) => m.source.system)}::text[], ${mappings.map((m) => m.source.version ?? null)}::text[],
      ${mappings.map((m) => m.source.code)}::text[], ${mappings.map((m) => m.source.display ?? null)}::text[],
      ${mappings.map((m) => m.target?.system ?? null)}::text[], ${mappings.map((m) => m.target?.version ?? null)}::text[],
      ${mappings.map((m) => m.target?.code ?? null)}::text[], ${mappings.map((m) => m.target?.display ?? null)}::text[],
      ${mappings.map((m) => m.equivalence)}::text[], ${mappings.map((m) => m.comment ?? null)}::text[]) as t`);
}
