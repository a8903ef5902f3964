/**
 * ICPC-2's structure, shared by its JSON, CSV and ClaML readers: 17 chapters (a letter each,
 * by body system) crossed with 7 components (by the code's two digits: symptoms and complaints,
 * diagnostic/screening/preventive, medication/treatment, results, administrative, referrals,
 * diagnoses/diseases). Chapters become non-selectable grouping concepts; the component is a
 * property, as the process components' codes (`-30` … `-69`) apply to every chapter.
 * Canonical URL per THO NamingSystem v3-icpc2E (preferred URI).
 */
import type { CodeSystemHeader, ConceptRecord } from '../code-system-content.ts';

export const ICPC2_URL = 'http://hl7.org/fhir/sid/icpc-2';

export type Icpc2Language = 'en' | 'nb';

const CHAPTERS: Readonly<Record<string, { en: string; nb: string }>> = {
  A: { en: 'General and unspecified', nb: 'Allment og uspesifisert' },
  B: {
    en: 'Blood, blood forming organs and immune mechanism',
    nb: 'Blod, bloddannende organer og immunsystemet',
  },
  D: { en: 'Digestive', nb: 'Fordøyelsessystemet' },
  F: { en: 'Eye', nb: 'Øye' },
  H: { en: 'Ear', nb: 'Øre' },
  K: { en: 'Cardiovascular', nb: 'Hjerte-karsystemet' },
  L: { en: 'Musculoskeletal', nb: 'Muskel-skjelettsystemet' },
  N: { en: 'Neurological', nb: 'Nervesystemet' },
  P: { en: 'Psychological', nb: 'Psykisk' },
  R: { en: 'Respiratory', nb: 'Luftveier' },
  S: { en: 'Skin', nb: 'Hud' },
  T: { en: 'Endocrine/metabolic and nutritional', nb: 'Endokrine, metabolske og ernæringsmessige' },
  U: { en: 'Urological', nb: 'Urinveier' },
  W: { en: 'Pregnancy, childbearing, family planning', nb: 'Svangerskap, fødsel og familieplanlegging' },
  X: { en: 'Female genital', nb: 'Kvinnelige kjønnsorganer' },
  Y: { en: 'Male genital', nb: 'Mannlige kjønnsorganer' },
  Z: { en: 'Social problems', nb: 'Sosiale problemer' },
};

export const ICPC2_CHAPTER_LETTERS: readonly string[] = Object.keys(CHAPTERS);

const COMPONENT_DESCRIPTION =
  'ICPC-2 component: 1 symptoms and complaints, 2 diagnostic, screening and preventive procedures, ' +
  '3 medication, treatment and procedures, 4 test results, 5 administrative, 6 referrals and other reasons ' +
  'for encounter, 7 diagnoses and diseases';

export function icpc2Header(version: string, language: Icpc2Language): CodeSystemHeader {
  return {
    url: ICPC2_URL,
    version,
    name: 'ICPC2',
    title: 'International Classification of Primary Care, second edition',
    publisher: 'WONCA International Classification Committee',
    language,
    hierarchyMeaning: 'is-a',
    properties: [{ code: 'component', type: 'code', description: COMPONENT_DESCRIPTION }],
  };
}

/**
 * `A03` (chapter A, component 7 range 70–99 → 7), `-30` (process code, component 2), and national
 * extensions with a fourth digit (`R991`, Norway) whose component is that of their first three
 * characters. `undefined` for anything that is not shaped like an ICPC-2 code.
 */
export function icpc2CodeShape(code: string): { chapter?: string; component: string } | undefined {
  const match = /^([A-Z]|-)(\d\d)\d*$/.exec(code);
  if (match === null) return undefined;
  const [, chapter = '', digits = ''] = match;
  if (chapter !== '-' && CHAPTERS[chapter] === undefined) return undefined;
  const component = componentOf(Number(digits));
  return chapter === '-' ? { component } : { chapter, component };
}

function componentOf(number: number): string {
  if (number <= 29) return '1';
  if (number <= 49) return '2';
  if (number <= 59) return '3';
  if (number <= 61) return '4';
  if (number === 62) return '5';
  if (number <= 69) return '6';
  return '7';
}

export interface Icpc2Entry {
  code: string;
  display: string;
  /** Inclusion criteria, synonyms and the like when the distribution carries them. */
  designations?: ConceptRecord['designations'];
  definition?: string;
}

export interface Icpc2Shaping {
  language: Icpc2Language;
  /** Told about each entry left out because its code is not an ICPC-2 code (a local extension). */
  onWarning?(message: string): void;
}

/**
 * The chapters, then the entries under them. An extension code's parent is its three-character
 * code when the distribution has it (`R991` → `R99`), otherwise its chapter.
 */
export function* icpc2Concepts(
  entries: readonly Icpc2Entry[],
  shaping: Icpc2Shaping,
): Generator<ConceptRecord> {
  const codes = new Set(entries.map((entry) => entry.code));
  const chaptersUsed = new Set<string>();
  const concepts: ConceptRecord[] = [];
  for (const entry of entries) {
    const shape = icpc2CodeShape(entry.code);
    if (shape === undefined) {
      shaping.onWarning?.(`${entry.code} (${entry.display}) is not an ICPC-2 code; left out`);
      continue;
    }
    const category = entry.code.slice(0, 3);
    const parent = entry.code.length > 3 && codes.has(category) ? category : shape.chapter;
    if (shape.chapter !== undefined) chaptersUsed.add(shape.chapter);
    concepts.push({
      code: entry.code,
      display: entry.display,
      parents: parent === undefined ? [] : [parent],
      properties: [{ code: 'component', value: { type: 'code', value: shape.component } }],
      ...(entry.definition !== undefined ? { definition: entry.definition } : {}),
      ...(entry.designations !== undefined && entry.designations.length > 0
        ? { designations: entry.designations }
        : {}),
    });
  }
  for (const letter of ICPC2_CHAPTER_LETTERS) {
    const titles = CHAPTERS[letter];
    if (titles === undefined || !chaptersUsed.has(letter) || codes.has(letter)) continue;
    yield { code: letter, display: titles[shaping.language], parents: [], selectable: false };
  }
  yield* concepts;
}
