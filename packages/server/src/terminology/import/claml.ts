/**
 * Reads a classification in ClaML 2.0 (ISO 13120; WHO ICD-10, ICPC-2 and ICF are published in
 * it): `<Title name version>`, then `<Class code kind>` elements with `<SuperClass>` links,
 * `<Rubric kind>` labels per language and `<Meta>` name/value pairs. Each class is read, turned
 * into a concept and dropped, so the WHO file (about 40 MB) streams.
 *
 * Rubrics: `preferred` in the code system's language is the display, other `preferred` labels
 * and `preferredLong`/`inclusion` are designations (use = rubric kind), `definition` is the
 * definition, `exclusion` and notes are string properties; class `kind` and `usage`
 * (dagger/asterisk) and `<Meta>` become properties. Chapters and blocks are not selectable.
 * Codes that `<ModifiedBy>` modifiers make (WHO's `E10.0` … `E10.9`, `I70.00`, `T14.20`) are
 * generated after the classes (claml-modifiers.ts).
 */

import type {
  CodeSystemContent,
  CodeSystemHeader,
  ConceptDesignation,
  ConceptRecord,
} from '../code-system-content.ts';
import {
  type ClassOutline,
  classOutline,
  type ModifierClassEntry,
  modifierClassEntry,
  modifierConcepts,
} from './claml-modifiers.ts';
import { ICPC2_URL } from './icpc2.ts';
import { openSourceStream } from './source-stream.ts';
import { TerminologySourceError } from './terminology-source-error.ts';
import { childElements, textContent, type XmlElement, xmlSubtrees } from './xml-subtrees.ts';

export interface ClamlOptions {
  /** The code system's canonical URL; known classifications get theirs from the title. */
  url?: string;
  /** Overrides `<Title version>`. */
  version?: string;
  /** Language of `display`; the first label's `xml:lang` otherwise. */
  language?: string;
  /** Told about modifiers that are not expanded (claml-modifiers.ts). */
  onWarning?(message: string): void;
}

export class ClamlFormatError extends TerminologySourceError {}

/** Canonical URLs of the classifications published in ClaML, by their `<Title name>`. */
const KNOWN_URLS: Readonly<Record<string, string>> = {
  'icd-10': 'http://hl7.org/fhir/sid/icd-10',
  icd10: 'http://hl7.org/fhir/sid/icd-10',
  'icd-10-who': 'http://hl7.org/fhir/sid/icd-10',
  'icpc-2': ICPC2_URL,
  icpc2: ICPC2_URL,
  'icpc-2e': ICPC2_URL,
};

const GROUPING_KINDS = new Set(['chapter', 'block', 'component']);
const DESIGNATION_RUBRICS = new Set(['preferredLong', 'inclusion']);
const PROPERTY_RUBRICS = new Set(['exclusion', 'note', 'text', 'coding-hint', 'introduction', 'footnote']);

export async function readClaml(path: string, options: ClamlOptions = {}): Promise<CodeSystemContent> {
  const header = await clamlHeader(path, options);
  return { header, concepts: clamlConcepts(path, header.language ?? 'en', options.onWarning) };
}

async function clamlHeader(path: string, options: ClamlOptions): Promise<CodeSystemHeader> {
  let title: XmlElement | undefined;
  let firstLanguage: string | undefined;
  for await (const element of xmlSubtrees(await openSourceStream(path), new Set(['Title', 'Class']), path)) {
    if (element.name === 'Title') title = element;
    else {
      firstLanguage = labels(element)[0]?.language;
      break;
    }
  }
  if (title === undefined) throw new ClamlFormatError(`${path}: no <Title>; is this a ClaML file?`);
  const name = title.attributes.name ?? 'ClaML';
  const url = options.url ?? KNOWN_URLS[name.toLowerCase()];
  if (url === undefined) {
    throw new ClamlFormatError(`${path}: "${name}" is not a classification with a known URL; pass its URL`);
  }
  const version = options.version ?? title.attributes.version;
  if (version === undefined || version === '') {
    throw new ClamlFormatError(`${path}: <Title> has no version; pass the version`);
  }
  const language = options.language ?? firstLanguage ?? 'en';
  return {
    url,
    version,
    name: name.replace(/[^A-Za-z0-9]/g, '').toUpperCase() || 'CLAML',
    title: textContent(title) || name,
    language,
    hierarchyMeaning: 'is-a',
    properties: [
      { code: 'kind', type: 'code', description: 'ClaML class kind (chapter, block, category, …)' },
      { code: 'usage', type: 'code', description: 'ClaML usage: dagger or aster (asterisk) codes' },
      { code: 'exclusion', type: 'string', description: 'ClaML exclusion rubric' },
      {
        code: 'note',
        type: 'string',
        description: 'ClaML note, text, coding-hint, introduction or footnote rubric',
      },
      { code: 'modifier', type: 'code', description: 'the ClaML modifier that made this code' },
    ],
  };
}

/**
 * The classes as they stream past, then the codes their modifiers make. The DTD puts every
 * `ModifierClass` before the first `Class`; the outlines kept for the expansion are a few strings
 * per class.
 */
async function* clamlConcepts(
  path: string,
  language: string,
  onWarning: ((message: string) => void) | undefined,
): AsyncGenerator<ConceptRecord> {
  const modifiers = new Map<string, ModifierClassEntry[]>();
  const outlines = new Map<string, ClassOutline>();
  const names = new Set(['ModifierClass', 'Class']);
  for await (const element of xmlSubtrees(await openSourceStream(path), names, path)) {
    if (element.name === 'ModifierClass') {
      const found = modifierClassEntry(element);
      if (found !== undefined)
        modifiers.set(found.modifier, [...(modifiers.get(found.modifier) ?? []), found.entry]);
      continue;
    }
    const concept = classConcept(element, language, path);
    outlines.set(concept.code, classOutline(element, concept.display ?? concept.code));
    yield concept;
  }
  yield* modifierConcepts(outlines, modifiers, onWarning);
}

interface Label {
  kind: string;
  language: string | undefined;
  text: string;
}

function labels(element: XmlElement): Label[] {
  return childElements(element, 'Rubric').flatMap((rubric) =>
    childElements(rubric, 'Label').map((label) => ({
      kind: rubric.attributes.kind ?? '',
      language: label.attributes['xml:lang'],
      text: textContent(label),
    })),
  );
}

export function classConcept(element: XmlElement, language: string, where = 'ClaML'): ConceptRecord {
  const code = element.attributes.code;
  if (code === undefined || code === '') throw new ClamlFormatError(`${where}: a <Class> without a code`);
  const kind = element.attributes.kind ?? 'category';
  const all = labels(element);
  const preferred =
    all.find((label) => label.kind === 'preferred' && (label.language ?? language) === language) ??
    all.find((label) => label.kind === 'preferred');
  const designations: ConceptDesignation[] = all
    .filter(
      (label) => label !== preferred && (label.kind === 'preferred' || DESIGNATION_RUBRICS.has(label.kind)),
    )
    .map((label) => ({
      ...(label.language !== undefined ? { language: label.language } : {}),
      use: { code: label.kind },
      value: label.text,
    }));
  const definition = all.find((label) => label.kind === 'definition')?.text;
  const properties: NonNullable<ConceptRecord['properties']>[number][] = [
    { code: 'kind', value: { type: 'code', value: kind } },
  ];
  if (element.attributes.usage !== undefined) {
    properties.push({ code: 'usage', value: { type: 'code', value: element.attributes.usage } });
  }
  for (const label of all) {
    if (!PROPERTY_RUBRICS.has(label.kind)) continue;
    properties.push({
      code: label.kind === 'exclusion' ? 'exclusion' : 'note',
      value: { type: 'string', value: label.text },
    });
  }
  for (const meta of childElements(element, 'Meta')) {
    const name = meta.attributes.name;
    if (name !== undefined)
      properties.push({ code: name, value: { type: 'string', value: meta.attributes.value ?? '' } });
  }
  return {
    code,
    ...(preferred !== undefined ? { display: preferred.text } : {}),
    ...(definition !== undefined ? { definition } : {}),
    parents: childElements(element, 'SuperClass').flatMap((superClass) =>
      superClass.attributes.code === undefined ? [] : [superClass.attributes.code],
    ),
    ...(designations.length > 0 ? { designations } : {}),
    properties,
    ...(GROUPING_KINDS.has(kind) ? { selectable: false } : {}),
  };
}
