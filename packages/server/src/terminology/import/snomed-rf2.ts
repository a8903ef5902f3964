/**
 * SNOMED CT from an RF2 release's Snapshot (for those who hold a licence): `sct2_Concept_Snapshot`
 * (id, active, module, definition status), `sct2_Description_Snapshot` (FSNs and synonyms per
 * language), `sct2_Relationship_Snapshot` (active `116680003 |Is a|` rows are the parents, several
 * per concept) and, when present, the language reference set that says which synonym is
 * preferred (`der2_cRefset_LanguageSnapshot`; US English first, as the International edition's
 * own browser does). Files are found anywhere below the folder given, the release's own layout
 * (`Snapshot/Terminology`, `Snapshot/Refset/Language`) included.
 *
 * Descriptions and relationships are indexed in memory before the concepts stream out: about
 * 1.5 million descriptions for the International edition, a few hundred MB. Version:
 * `http://snomed.info/sct/{edition module}/version/{YYYYMMDD}` (the FHIR SNOMED CT page), with
 * the module of the root concept and the release date of the file name.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CodeSystemContent, ConceptDesignation, ConceptRecord } from '../code-system-content.ts';
import { readLines } from './source-stream.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export const SNOMED_URL = 'http://snomed.info/sct';
const ROOT_CONCEPT = '138875005';
const IS_A = '116680003';
const FSN = '900000000000003001';
const SYNONYM = '900000000000013009';
const PREFERRED = '900000000000548007';
const DEFINED = '900000000000073002';
const US_ENGLISH = '900000000000509007';
const GB_ENGLISH = '900000000000508004';

const USES: Readonly<Record<string, { system: string; code: string; display: string }>> = {
  [FSN]: { system: SNOMED_URL, code: FSN, display: 'Fully specified name' },
  [SYNONYM]: { system: SNOMED_URL, code: SYNONYM, display: 'Synonym' },
};

export interface SnomedRf2Options {
  /** A version URI or just the date; derived from the files when absent. */
  version?: string;
  /** Language reference set whose preferred term is the display (default US, then GB English). */
  languageRefset?: string;
}

export class SnomedRf2Error extends TerminologySourceError {}

interface ReleaseFiles {
  concepts: string;
  descriptions: string[];
  relationships: string;
  languages: string[];
}

export async function readSnomedRf2(
  folder: string,
  options: SnomedRf2Options = {},
): Promise<CodeSystemContent> {
  const files = await releaseFiles(folder);
  const version = await versionOf(files, options.version);
  return {
    header: {
      url: SNOMED_URL,
      version,
      name: 'SNOMEDCT',
      title: 'SNOMED CT',
      publisher: 'SNOMED International',
      language: 'en',
      hierarchyMeaning: 'is-a',
      properties: [
        { code: 'moduleId', type: 'code', description: 'the module the concept belongs to' },
        { code: 'sufficientlyDefined', type: 'boolean', description: 'fully defined (not primitive)' },
      ],
    },
    concepts: snomedConcepts(files, options),
  };
}

async function filesUnder(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else found.push(path);
  }
  return found.sort();
}

async function releaseFiles(folder: string): Promise<ReleaseFiles> {
  const all = await filesUnder(folder);
  const named = (pattern: RegExp) => all.filter((path) => pattern.test(path.split(/[\\/]/).at(-1) ?? ''));
  const [concepts] = named(/^sct2_Concept_Snapshot.*\.txt$/);
  const [relationships] = named(/^sct2_Relationship_Snapshot.*\.txt$/);
  const descriptions = named(/^sct2_Description_Snapshot.*\.txt$/);
  if (concepts === undefined || relationships === undefined || descriptions.length === 0) {
    throw new SnomedRf2Error(
      `${folder}: needs sct2_Concept_Snapshot, sct2_Description_Snapshot and sct2_Relationship_Snapshot files (RF2 Snapshot)`,
    );
  }
  return {
    concepts,
    descriptions,
    relationships,
    languages: named(/^der2_cRefset_LanguageSnapshot.*\.txt$/),
  };
}

async function versionOf(files: ReleaseFiles, given: string | undefined): Promise<string> {
  if (given !== undefined && isVersionUri(given)) return given;
  let rootModule: string | undefined;
  let latest = '';
  for await (const row of rows(files.concepts)) {
    const [id = '', effectiveTime = '', , moduleId = ''] = row;
    if (id === ROOT_CONCEPT) rootModule = moduleId;
    if (effectiveTime > latest) latest = effectiveTime;
  }
  const date = given ?? /_(\d{8})\.txt$/.exec(files.concepts)?.[1] ?? latest;
  if (rootModule === undefined) {
    throw new SnomedRf2Error(`${files.concepts}: no root concept ${ROOT_CONCEPT}; pass the version URI`);
  }
  return `${SNOMED_URL}/${rootModule}/version/${date}`;
}

function isVersionUri(version: string): boolean {
  return version.startsWith(`${SNOMED_URL}/`);
}

/** Tab-separated rows after the header line. */
async function* rows(path: string): AsyncGenerator<string[]> {
  let first = true;
  for await (const line of readLines(path)) {
    if (first) {
      first = false;
      continue;
    }
    if (line !== '') yield line.split('\t');
  }
}

interface Description {
  id: string;
  typeId: string;
  language: string;
  term: string;
}

async function* snomedConcepts(
  files: ReleaseFiles,
  options: SnomedRf2Options,
): AsyncGenerator<ConceptRecord> {
  const preferred = await preferredDescriptions(files.languages, options.languageRefset);
  const parents = new Map<string, string[]>();
  for await (const [, , active, , sourceId = '', destinationId = '', , typeId] of rows(files.relationships)) {
    if (active !== '1' || typeId !== IS_A) continue;
    const list = parents.get(sourceId);
    if (list === undefined) parents.set(sourceId, [destinationId]);
    else if (!list.includes(destinationId)) list.push(destinationId);
  }
  const descriptions = new Map<string, Description[]>();
  for (const path of files.descriptions) {
    for await (const [id = '', , active, , conceptId = '', language = '', typeId = '', term = ''] of rows(
      path,
    )) {
      if (active !== '1') continue;
      const description = { id, typeId, language, term };
      const list = descriptions.get(conceptId);
      if (list === undefined) descriptions.set(conceptId, [description]);
      else list.push(description);
    }
  }
  for await (const [id = '', , active, moduleId = '', definitionStatus = ''] of rows(files.concepts)) {
    const terms = descriptions.get(id) ?? [];
    const fsn = terms.find((term) => term.typeId === FSN);
    const display = terms.find((term) => term.typeId === SYNONYM && preferred.has(term.id)) ?? fsn;
    const designations: ConceptDesignation[] = terms
      .filter((term) => USES[term.typeId] !== undefined)
      .map((term) => ({ language: term.language, use: USES[term.typeId], value: term.term }));
    yield {
      code: id,
      ...(display !== undefined ? { display: display.term } : {}),
      parents: parents.get(id) ?? [],
      ...(designations.length > 0 ? { designations } : {}),
      properties: [
        { code: 'moduleId', value: { type: 'code', value: moduleId } },
        { code: 'sufficientlyDefined', value: { type: 'boolean', value: definitionStatus === DEFINED } },
      ],
      ...(active === '1' ? {} : { active: false }),
    };
  }
}

/** Ids of the descriptions the chosen language reference set marks preferred. */
async function preferredDescriptions(
  files: readonly string[],
  wanted: string | undefined,
): Promise<Set<string>> {
  const byRefset = new Map<string, Set<string>>();
  for (const path of files) {
    for await (const [, , active, , refsetId = '', descriptionId = '', acceptability] of rows(path)) {
      if (active !== '1' || acceptability !== PREFERRED) continue;
      const set = byRefset.get(refsetId) ?? new Set<string>();
      set.add(descriptionId);
      byRefset.set(refsetId, set);
    }
  }
  const choice =
    wanted ?? [US_ENGLISH, GB_ENGLISH, ...byRefset.keys()].find((refset) => byRefset.has(refset));
  if (wanted !== undefined && !byRefset.has(wanted)) {
    throw new SnomedRf2Error(`language reference set ${wanted} is not in the release`);
  }
  return choice === undefined ? new Set() : (byRefset.get(choice) ?? new Set());
}
