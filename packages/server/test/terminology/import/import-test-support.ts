/** Helpers the importer tests share: where the fixtures and the shared release files are. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConceptMapping, ConceptRecord } from '../../../src/terminology/code-system-content.ts';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/terminology/', import.meta.url));

/** `../shared/data/codes` beside the repository (DESIGN.md §6); tests on it skip when absent. */
export const SHARED_CODES = fileURLToPath(new URL('../../../../../../shared/data/codes/', import.meta.url));
export const hasSharedCodes = (path: string): boolean => existsSync(`${SHARED_CODES}${path}`);

export async function conceptsByCode(
  concepts: AsyncIterable<ConceptRecord>,
): Promise<Map<string, ConceptRecord>> {
  const byCode = new Map<string, ConceptRecord>();
  for await (const concept of concepts) {
    if (byCode.has(concept.code)) throw new Error(`duplicate code ${concept.code}`);
    byCode.set(concept.code, concept);
  }
  return byCode;
}

export async function allMappings(mappings: AsyncIterable<ConceptMapping>): Promise<ConceptMapping[]> {
  const list: ConceptMapping[] = [];
  for await (const mapping of mappings) list.push(mapping);
  return list;
}
