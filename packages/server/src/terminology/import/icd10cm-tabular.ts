/**
 * Reads the CDC ICD-10-CM tabular list (`icd10cm_tabular_YYYY.xml`): `<chapter>` → `<section>` →
 * nested `<diag>` (name = code, desc = title) with inclusion terms and notes. Chapters and sections
 * become non-selectable grouping concepts (the chapter's code is its range, `A00-B99`, as the
 * sections' ids are), so the whole tree subsumes as the classification does.
 *
 * Codes that need a 7th character (`sevenChrDef`, inherited by every diag below the one that
 * defines it) exist in the release only as that definition: a leaf `S00.00` under the extensions
 * A/D/S stands for `S00.00XA`, `S00.00XD`, `S00.00XS` (placeholder X up to six characters). Those
 * codes are generated here, as children of the leaf, which itself is then not selectable — the
 * same list the order file enumerates, except where a note in the text withdraws some
 * combinations (2021: 72 codes such as `S06.1X7D`), which only the order file knows about;
 * `icd10cm-release.ts` therefore prefers the order file's list when both files are at hand.
 */
import type { CodeSystemContent, ConceptDesignation, ConceptRecord } from '../code-system-content.ts';
import { icd10cmHeader } from './icd10cm.ts';
import { openSourceStream } from './source-stream.ts';
import {
  childElements,
  firstChild,
  textContent,
  type XmlElement,
  XmlFormatError,
  xmlSubtrees,
} from './xml-subtrees.ts';

export interface Icd10cmTabularOptions {
  /** Overrides the release year the file states in `<version>`. */
  version?: string;
}

const INCLUSION_USE = { code: 'inclusion', display: 'Inclusion term' } as const;

export async function readIcd10cmTabular(
  path: string,
  options: Icd10cmTabularOptions = {},
): Promise<CodeSystemContent> {
  const version = options.version ?? (await releaseVersion(path));
  return { header: icd10cmHeader(version), concepts: tabularConcepts(path) };
}

async function releaseVersion(path: string): Promise<string> {
  for await (const element of xmlSubtrees(await openSourceStream(path), new Set(['version']), path)) {
    const version = textContent(element);
    if (version !== '') return version;
  }
  throw new XmlFormatError(`${path}: no <version> element; pass the release year as the version`);
}

async function* tabularConcepts(path: string): AsyncGenerator<ConceptRecord> {
  for await (const chapter of xmlSubtrees(await openSourceStream(path), new Set(['chapter']), path)) {
    const title = textOf(chapter, 'desc');
    const code = chapterCode(chapter, title);
    yield { code, display: title, parents: [], selectable: false };
    for (const section of childElements(chapter, 'section')) {
      const sectionCode = sectionRange(section.attributes.id ?? textOf(section, 'desc'));
      yield { code: sectionCode, display: textOf(section, 'desc'), parents: [code], selectable: false };
      for (const diag of childElements(section, 'diag')) yield* diagConcepts(diag, sectionCode, undefined);
    }
  }
}

/** `Certain infectious and parasitic diseases (A00-B99)` → `A00-B99`; the number if no range. */
function chapterCode(chapter: XmlElement, title: string): string {
  const range = /\(([A-Z]\d\d-[A-Z]\d\d)\)\s*$/.exec(title);
  return range?.[1] ?? `chapter-${textOf(chapter, 'name')}`;
}

/**
 * A section that holds one category has that category's code as its id (`B10`); it becomes
 * `B10-B10` so that the block and the category stay two concepts.
 */
function sectionRange(id: string): string {
  return id.includes('-') ? id : `${id}-${id}`;
}

type SeventhCharacters = readonly { char: string; meaning: string }[];

function* diagConcepts(
  diag: XmlElement,
  parent: string,
  inherited: SeventhCharacters | undefined,
): Generator<ConceptRecord> {
  const code = textOf(diag, 'name');
  const display = textOf(diag, 'desc');
  const seventh = seventhCharacters(diag) ?? inherited;
  const children = childElements(diag, 'diag');
  const needsSeventh = children.length === 0 && seventh !== undefined;
  const designations = inclusionTerms(diag);
  yield {
    code,
    display,
    parents: [parent],
    selectable: children.length === 0 && !needsSeventh,
    ...(designations.length > 0 ? { designations } : {}),
  };
  for (const child of children) yield* diagConcepts(child, code, seventh);
  if (needsSeventh) {
    for (const { char, meaning } of seventh) {
      yield { code: withSeventhCharacter(code, char), display: `${display}, ${meaning}`, parents: [code] };
    }
  }
}

function seventhCharacters(diag: XmlElement): SeventhCharacters | undefined {
  const definition = firstChild(diag, 'sevenChrDef');
  if (definition === undefined) return undefined;
  return childElements(definition, 'extension').map((extension) => ({
    char: extension.attributes.char ?? '',
    meaning: textContent(extension),
  }));
}

/** `S00.00` + `A` → `S00.00XA`: the placeholder X fills the code to six characters. */
export function withSeventhCharacter(code: string, char: string): string {
  const plain = code.replace('.', '');
  const padded = plain.padEnd(6, 'X');
  return `${padded.slice(0, 3)}.${padded.slice(3)}${char}`;
}

function inclusionTerms(diag: XmlElement): ConceptDesignation[] {
  return childElements(diag, 'inclusionTerm').flatMap((term) =>
    childElements(term, 'note').map((note) => ({
      language: 'en',
      use: INCLUSION_USE,
      value: textContent(note),
    })),
  );
}

function textOf(element: XmlElement, child: string): string {
  const found = firstChild(element, child);
  return found === undefined ? '' : textContent(found);
}
