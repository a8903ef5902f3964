/**
 * Code system and concept map content held in arrays (a stored CodeSystem resource, the demo
 * subset, tests), in the streaming form the loader takes.
 */
import type {
  CodeSystemContent,
  CodeSystemHeader,
  ConceptMapContent,
  ConceptMapping,
  ConceptRecord,
} from './code-system-content.ts';

export async function* streamOf<T>(items: Iterable<T>): AsyncIterable<T> {
  yield* items;
}

export function codeSystemContent(
  header: CodeSystemHeader,
  concepts: Iterable<ConceptRecord>,
): CodeSystemContent {
  return { header, concepts: streamOf(concepts) };
}

export function conceptMapContent(
  map: Omit<ConceptMapContent, 'mappings'>,
  mappings: Iterable<ConceptMapping>,
): ConceptMapContent {
  return { ...map, mappings: streamOf(mappings) };
}
