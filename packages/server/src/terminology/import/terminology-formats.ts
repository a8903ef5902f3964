/**
 * The release formats `concordia terminology import` knows, each mapped to its reader: a file
 * or folder in, a code system or a concept map out. The FHIR format is not here: it stores
 * resources through the core rather than producing one content (import-fhir-terminology.ts).
 */
import { extname } from 'node:path';
import type { CodeSystemContent, ConceptMapContent } from '../code-system-content.ts';
import { readClaml } from './claml.ts';
import { readIcd10cmRelease } from './icd10cm-release.ts';
import { ICPC2_URL, type Icpc2Language } from './icpc2.ts';
import { readIcpc2Csv } from './icpc2-csv.ts';
import { readIcpc2Icd10Map } from './icpc2-icd10-map.ts';
import { readIcpc2Json } from './icpc2-json.ts';
import { readLoinc } from './loinc.ts';
import { readSnomedRf2 } from './snomed-rf2.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export const TERMINOLOGY_FORMATS = [
  'claml',
  'icd10cm',
  'icpc2',
  'loinc',
  'snomed-rf2',
  'fhir',
  'icpc2-icd10-map',
] as const;
export type TerminologyFormat = (typeof TERMINOLOGY_FORMATS)[number];

export function isTerminologyFormat(value: string): value is TerminologyFormat {
  return (TERMINOLOGY_FORMATS as readonly string[]).includes(value);
}

export interface SourceOptions {
  version?: string;
  url?: string;
  language?: string;
  /** The ICD-10 system an ICPC-2 → ICD-10 table targets. */
  targetSystem?: string;
  onWarning?(message: string): void;
}

export type TerminologySource =
  | { kind: 'code-system'; content: CodeSystemContent }
  | { kind: 'concept-map'; content: ConceptMapContent };

export async function readTerminologySource(
  format: Exclude<TerminologyFormat, 'fhir'>,
  path: string,
  options: SourceOptions,
): Promise<TerminologySource> {
  const source = await readFormat(format, path, options);
  // --url names the code system where the release does not (a national edition, a local copy).
  if (source.kind === 'code-system' && options.url !== undefined) {
    return {
      kind: 'code-system',
      content: { ...source.content, header: { ...source.content.header, url: options.url } },
    };
  }
  return source;
}

async function readFormat(
  format: Exclude<TerminologyFormat, 'fhir'>,
  path: string,
  options: SourceOptions,
): Promise<TerminologySource> {
  switch (format) {
    case 'claml':
      return codeSystem(await readClaml(path, options));
    case 'icd10cm':
      return codeSystem(await readIcd10cmRelease(path, options));
    case 'icpc2':
      return codeSystem(await readIcpc2(path, options));
    case 'loinc':
      return codeSystem(readLoinc(path, options));
    case 'snomed-rf2':
      return codeSystem(await readSnomedRf2(path, options));
    case 'icpc2-icd10-map':
      return {
        kind: 'concept-map',
        content: await readIcpc2Icd10Map(path, { ...options, version: required(options.version, format) }),
      };
  }
}

/** ICPC-2 comes as JSON, as a spreadsheet export, or as ClaML; the file's extension says which. */
async function readIcpc2(path: string, options: SourceOptions): Promise<CodeSystemContent> {
  const extension = extname(path.replace(/\.gz$/i, '')).toLowerCase();
  if (extension === '.xml') return readClaml(path, { ...options, url: options.url ?? ICPC2_URL });
  const language = icpc2Language(options.language);
  const icpc2Options = { ...options, version: required(options.version, 'icpc2'), language };
  if (extension === '.json') return readIcpc2Json(path, icpc2Options);
  if (extension === '.csv' || extension === '.tsv' || extension === '.txt')
    return readIcpc2Csv(path, icpc2Options);
  throw new TerminologySourceError(`${path}: ICPC-2 is read from .json, .csv, .tsv, .txt or ClaML .xml`);
}

function icpc2Language(language: string | undefined): Icpc2Language | undefined {
  if (language === undefined) return undefined;
  if (language === 'en' || language === 'nb') return language;
  if (language === 'no') return 'nb';
  throw new TerminologySourceError(`ICPC-2 chapter titles are known in en and nb, not ${language}`);
}

function required(version: string | undefined, format: string): string {
  if (version === undefined || version.trim() === '') {
    throw new TerminologySourceError(`the ${format} files do not state their release: pass --version`);
  }
  return version;
}

function codeSystem(content: CodeSystemContent): TerminologySource {
  return { kind: 'code-system', content };
}
