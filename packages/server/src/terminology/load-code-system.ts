/**
 * Writes a code system into the concept tables (migration 0010): the one way concepts get there,
 * whether an importer read a release file or a CodeSystem resource was stored through the API.
 * Loading is one transaction: a url+version loaded again replaces the earlier copy atomically
 * (readers see the old one until COMMIT), and another version of the same url stays beside it.
 * Rows go in thousands per statement (`unnest` of arrays): ICD-10-CM's ~95,000 concepts and
 * ~500,000 closure rows take a few dozen statements.
 */
import { normalizeString } from '@concordia/fhir';
import type { Database, SqlExecutor } from '../store/database.ts';
import { readNumber } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { CodeSystemContent, ConceptPropertyValue, ConceptRecord } from './code-system-content.ts';
import { ancestorLists, HierarchyCycleError } from './concept-closure.ts';
import { bumpTerminologyRevision } from './terminology-revision.ts';

export { loadConceptMap } from './load-concept-map.ts';

export interface LoadOptions {
  /** Called after every batch with the number of concepts written so far. */
  onProgress?(loaded: number): void;
}

export interface CodeSystemWriteOptions extends LoadOptions {
  /** The stored CodeSystem resource the concepts come from (write-hooks), if any. */
  resourceId?: string;
}

const CONCEPT_BATCH = 5_000;
const EDGE_BATCH = 20_000;

/** Loads `content` in its own transaction; see `writeCodeSystem`. */
export function loadCodeSystem(
  db: Database,
  content: CodeSystemContent,
  options: LoadOptions = {},
): Promise<{ concepts: number; version: string }> {
  return db.transaction((tx) => writeCodeSystem(tx, content, options));
}

/** Invalid content: a duplicate code, a parent that is not in the code system, a cycle. */
export class CodeSystemContentError extends Error {
  override name = 'CodeSystemContentError';
}

/** Writes `content` with `tx`, which must be inside a transaction (the caller's). */
export async function writeCodeSystem(
  tx: SqlExecutor,
  content: CodeSystemContent,
  options: CodeSystemWriteOptions = {},
): Promise<{ concepts: number; version: string }> {
  const { header } = content;
  await removeCodeSystem(tx, header.url, header.version);
  const [row] = await tx.query(sql`insert into code_system
      (url, version, name, title, publisher, language, hierarchy_meaning, properties, resource_id)
    values (${header.url}, ${header.version}, ${header.name}, ${header.title ?? null},
      ${header.publisher ?? null}, ${header.language ?? null}, ${header.hierarchyMeaning ?? null},
      ${JSON.stringify(header.properties ?? [])}::jsonb, ${options.resourceId ?? null})
    returning id`);
  if (row === undefined) throw new Error('insert into code_system returned no id');
  const codeSystemId = readNumber(row, 'id');

  const ordinals = new Map<string, number>();
  const parentCodes: (readonly string[])[] = [];
  let batch: ConceptRecord[] = [];
  const flush = async (): Promise<void> => {
    await insertConcepts(tx, codeSystemId, ordinals.size - batch.length, batch);
    batch = [];
    options.onProgress?.(ordinals.size);
  };
  for await (const concept of content.concepts) {
    if (ordinals.has(concept.code)) {
      throw new CodeSystemContentError(`${header.url}|${header.version}: code ${concept.code} appears twice`);
    }
    ordinals.set(concept.code, ordinals.size);
    parentCodes.push(concept.parents);
    batch.push(concept);
    if (batch.length >= CONCEPT_BATCH) await flush();
  }
  if (batch.length > 0) await flush();

  const codes = [...ordinals.keys()];
  const parents = parentCodes.map((list, ordinal) =>
    list.map((code) => {
      const parent = ordinals.get(code);
      if (parent === undefined) {
        throw new CodeSystemContentError(
          `${header.url}|${header.version}: the parent ${code} of ${codes[ordinal]} is not in the code system`,
        );
      }
      return parent;
    }),
  );
  await insertHierarchy(tx, codeSystemId, parents, (ordinal) => codes[ordinal] ?? String(ordinal));
  await tx.query(sql`update code_system set concept_count = ${ordinals.size} where id = ${codeSystemId}`);
  await bumpTerminologyRevision(tx);
  return { concepts: ordinals.size, version: header.version };
}

/** Removes one version of a code system from every concept table; no-op when it is not loaded. */
export async function removeCodeSystem(tx: SqlExecutor, url: string, version: string): Promise<boolean> {
  const [row] = await tx.query(
    sql`delete from code_system where url = ${url} and version = ${version} returning id`,
  );
  if (row === undefined) return false;
  const id = readNumber(row, 'id');
  for (const table of CONCEPT_TABLES) {
    await tx.query(sql`delete from ${table} where code_system_id = ${id}`);
  }
  await bumpTerminologyRevision(tx);
  return true;
}

const CONCEPT_TABLES = [
  sql`concept`,
  sql`concept_parent`,
  sql`concept_ancestor`,
  sql`concept_designation`,
  sql`concept_property`,
];

async function insertConcepts(
  tx: SqlExecutor,
  codeSystemId: number,
  firstOrdinal: number,
  concepts: readonly ConceptRecord[],
): Promise<void> {
  const ordinal = concepts.map((_, index) => firstOrdinal + index);
  await tx.query(sql`insert into concept
      (code_system_id, ordinal, code, display, definition, active, selectable, words)
    select ${codeSystemId}, t.ordinal, t.code, t.display, t.definition, t.active, t.selectable,
      to_tsvector('simple', t.words)
    from unnest(${ordinal}::int[], ${concepts.map((c) => c.code)}::text[],
      ${concepts.map((c) => c.display ?? null)}::text[], ${concepts.map((c) => c.definition ?? null)}::text[],
      ${concepts.map((c) => c.active ?? true)}::boolean[], ${concepts.map((c) => c.selectable ?? true)}::boolean[],
      ${concepts.map(searchableText)}::text[])
      as t(ordinal, code, display, definition, active, selectable, words)`);

  const designations = concepts.flatMap((concept, index) =>
    (concept.designations ?? []).map((designation) => ({ ordinal: firstOrdinal + index, designation })),
  );
  if (designations.length > 0) {
    await tx.query(sql`insert into concept_designation
        (code_system_id, ordinal, language, use_system, use_code, use_display, value)
      select ${codeSystemId}, t.* from unnest(${designations.map((d) => d.ordinal)}::int[],
        ${designations.map((d) => d.designation.language ?? null)}::text[],
        ${designations.map((d) => d.designation.use?.system ?? null)}::text[],
        ${designations.map((d) => d.designation.use?.code ?? null)}::text[],
        ${designations.map((d) => d.designation.use?.display ?? null)}::text[],
        ${designations.map((d) => d.designation.value)}::text[]) as t`);
  }

  const properties = concepts.flatMap((concept, index) =>
    (concept.properties ?? []).map((property) => ({ ordinal: firstOrdinal + index, property })),
  );
  if (properties.length > 0) {
    await tx.query(sql`insert into concept_property (code_system_id, ordinal, code, value, value_text)
      select ${codeSystemId}, t.ordinal, t.code, t.value::jsonb, t.value_text
      from unnest(${properties.map((p) => p.ordinal)}::int[], ${properties.map((p) => p.property.code)}::text[],
        ${properties.map((p) => JSON.stringify(p.property.value))}::text[],
        ${properties.map((p) => propertyText(p.property.value))}::text[]) as t(ordinal, code, value, value_text)`);
  }
}

/** What the text filter of $expand searches: the display and every designation, folded. */
function searchableText(concept: ConceptRecord): string {
  const texts = [concept.display ?? '', ...(concept.designations ?? []).map((d) => d.value)];
  return normalizeString(texts.join(' '));
}

export function propertyText(value: ConceptPropertyValue): string {
  if (value.type === 'Coding') return value.value.code;
  return String(value.value);
}

async function insertHierarchy(
  tx: SqlExecutor,
  codeSystemId: number,
  parents: readonly (readonly number[])[],
  describe: (ordinal: number) => string,
): Promise<void> {
  const parentEdges = new EdgeBatch(async (children, parentOrdinals) => {
    await tx.query(sql`insert into concept_parent (code_system_id, child, parent)
      select ${codeSystemId}, t.* from unnest(${children}::int[], ${parentOrdinals}::int[]) as t`);
  });
  for (const [child, list] of parents.entries()) {
    for (const parent of list) await parentEdges.add(child, parent);
  }
  await parentEdges.flush();

  const closure = new EdgeBatch(async (ancestors, descendants) => {
    await tx.query(sql`insert into concept_ancestor (code_system_id, ancestor, descendant)
      select ${codeSystemId}, t.* from unnest(${ancestors}::int[], ${descendants}::int[]) as t`);
  });
  try {
    for (const { descendant, ancestors } of ancestorLists(parents, describe)) {
      await closure.add(descendant, descendant);
      for (const ancestor of ancestors) await closure.add(ancestor, descendant);
    }
  } catch (error) {
    if (error instanceof HierarchyCycleError) throw new CodeSystemContentError(error.message);
    throw error;
  }
  await closure.flush();
}

/** Pairs written `EDGE_BATCH` at a time, so a large closure never sits in memory whole. */
class EdgeBatch {
  private firsts: number[] = [];
  private seconds: number[] = [];

  constructor(private readonly write: (firsts: number[], seconds: number[]) => Promise<void>) {}

  async add(first: number, second: number): Promise<void> {
    this.firsts.push(first);
    this.seconds.push(second);
    if (this.firsts.length >= EDGE_BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.firsts.length === 0) return;
    const [firsts, seconds] = [this.firsts, this.seconds];
    this.firsts = [];
    this.seconds = [];
    await this.write(firsts, seconds);
  }
}
