/**
 * One ICD-10-CM release from what the operator has: the tabular XML, the order file, or a folder
 * with both. With both, the order file says which codes exist and which are billable (it is the
 * authoritative list: it leaves out the 7th-character combinations that the tabular list's notes
 * withdraw) and the tabular list adds chapters, sections, the parents it states and the inclusion
 * terms. Either file alone is a complete code system too.
 */

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CodeSystemContent, ConceptRecord } from '../code-system-content.ts';
import { readIcd10cmOrderFile } from './icd10cm-order.ts';
import { readIcd10cmTabular } from './icd10cm-tabular.ts';
import { openSourceStream } from './source-stream.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export interface Icd10cmOptions {
  version?: string;
  /** Told about codes one file has and the other has not. */
  onWarning?(message: string): void;
}

export class Icd10cmSourceError extends TerminologySourceError {}

export async function readIcd10cmRelease(
  path: string,
  options: Icd10cmOptions = {},
): Promise<CodeSystemContent> {
  const files = (await stat(path)).isDirectory() ? await releaseFiles(path) : await singleFile(path);
  if (files.tabular !== undefined && files.order !== undefined) {
    return mergedRelease(files.tabular, files.order, options);
  }
  if (files.tabular !== undefined) return readIcd10cmTabular(files.tabular, options);
  if (files.order !== undefined) return readIcd10cmOrderFile(files.order, options);
  throw new Icd10cmSourceError(
    `${path}: no ICD-10-CM tabular XML (icd10cm_tabular_YYYY.xml) or order file (icd10cm_order_YYYY.txt) found`,
  );
}

interface ReleaseFiles {
  tabular?: string;
  order?: string;
}

async function releaseFiles(folder: string): Promise<ReleaseFiles> {
  const files: ReleaseFiles = {};
  for (const name of (await readdir(folder)).sort()) {
    if (/tabular.*\.xml(\.gz)?$/i.test(name)) files.tabular ??= join(folder, name);
    else if (/order.*\.txt(\.gz)?$/i.test(name)) files.order ??= join(folder, name);
  }
  return files;
}

/** A single file is told apart by its first bytes: XML starts with `<`, the order file with digits. */
async function singleFile(path: string): Promise<ReleaseFiles> {
  const head = await firstCharacters(path);
  if (head.startsWith('<')) return { tabular: path };
  if (/^\d{5} /.test(head)) return { order: path };
  throw new Icd10cmSourceError(`${path}: neither the ICD-10-CM tabular XML nor the order file`);
}

async function firstCharacters(path: string): Promise<string> {
  const stream = await openSourceStream(path);
  stream.setEncoding('utf8');
  try {
    for await (const chunk of stream)
      return String(chunk)
        .replace(/^\uFEFF/, '')
        .trimStart()
        .slice(0, 16);
    return '';
  } finally {
    stream.destroy();
  }
}

async function mergedRelease(
  tabularPath: string,
  orderPath: string,
  options: Icd10cmOptions,
): Promise<CodeSystemContent> {
  const tabular = await readIcd10cmTabular(tabularPath, options);
  const order = readIcd10cmOrderFile(orderPath, { version: options.version ?? tabular.header.version });
  return { header: order.header, concepts: mergedConcepts(tabular, order, options) };
}

async function* mergedConcepts(
  tabular: CodeSystemContent,
  order: CodeSystemContent,
  options: Icd10cmOptions,
): AsyncGenerator<ConceptRecord> {
  // The tabular list is about 95,000 small records: held once, so the order file can stream past it.
  const fromTabular = new Map<string, ConceptRecord>();
  for await (const concept of tabular.concepts) fromTabular.set(concept.code, concept);
  const listed = new Set<string>();
  for await (const concept of order.concepts) {
    listed.add(concept.code);
    const described = fromTabular.get(concept.code);
    if (described === undefined) {
      options.onWarning?.(`${concept.code} is in the order file but not in the tabular list`);
      yield concept;
      continue;
    }
    yield {
      ...concept,
      parents: described.parents,
      ...(described.designations !== undefined ? { designations: described.designations } : {}),
    };
  }
  let withdrawn = 0;
  for (const concept of fromTabular.values()) {
    if (listed.has(concept.code)) continue;
    if (concept.selectable === false && concept.code.includes('-')) yield concept;
    else withdrawn += 1;
  }
  if (withdrawn > 0) {
    options.onWarning?.(`${withdrawn} codes of the tabular list are not in the order file and were left out`);
  }
}
