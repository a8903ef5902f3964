/**
 * The ICPC-2 → ICD-10 conversion tables (WONCA's and the national ones, e.g. Norway's
 * "ICPC-2 til ICD-10" and the Dutch/Belgian tables) as a ConceptMap: one row per pair, an ICPC-2
 * code column, an ICD-10 code column, optionally titles and a relationship column. Rows that
 * carry no relationship say "this ICD-10 code is a usual translation" — R4 `relatedto`, not
 * `equivalent`, as most ICPC-2 rubrics are wider than the ICD-10 codes they map to.
 *
 * Relationship values understood (ConceptMapEquivalence, conceptmap.html: the target's meaning
 * relative to the source's): `=`/equivalent/equal → equivalent; `>`/wider/broader → wider;
 * `<`/narrower/specializes → narrower; `~`/inexact/partial → inexact; unmatched, disjoint,
 * subsumes, specializes, relatedto, equal as the code itself.
 */

import type { ConceptMapContent, ConceptMapping } from '../code-system-content.ts';
import { type CsvRecord, findColumn, readCsvRecords } from './csv-records.ts';
import { ICPC2_URL } from './icpc2.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export const ICD10_URL = 'http://hl7.org/fhir/sid/icd-10';

/** No body publishes a canonical URL for the conversion; a national one is passed with `url`. */
export const ICPC2_ICD10_MAP_URL = 'urn:concordia:ConceptMap:icpc2-to-icd10';

export interface Icpc2Icd10MapOptions {
  version: string;
  url?: string;
  /** The ICD-10 flavour the table targets (the WHO URL unless told, e.g. a national modification). */
  targetSystem?: string;
}

export class ConversionTableError extends TerminologySourceError {}

const ICPC_COLUMNS = ['icpc2', 'icpc-2', 'icpc', 'icpc2 code', 'icpc code', 'icpc2kode', 'source', 'from'];
const ICPC_TITLE_COLUMNS = ['icpc2 title', 'icpc title', 'icpc2 text', 'icpc2tekst', 'source display'];
const ICD_COLUMNS = ['icd10', 'icd-10', 'icd', 'icd10 code', 'icd code', 'icd10kode', 'target', 'to'];
const ICD_TITLE_COLUMNS = ['icd10 title', 'icd title', 'icd10 text', 'icd10tekst', 'target display'];
const RELATIONSHIP_COLUMNS = ['equivalence', 'relationship', 'relation', 'rel', 'map type', 'type'];
const COMMENT_COLUMNS = ['comment', 'note', 'kommentar'];

const EQUIVALENCES: Readonly<Record<string, string>> = {
  '=': 'equivalent',
  equivalent: 'equivalent',
  equal: 'equal',
  '>': 'wider',
  wider: 'wider',
  broader: 'wider',
  '<': 'narrower',
  narrower: 'narrower',
  specializes: 'specializes',
  subsumes: 'subsumes',
  '~': 'inexact',
  inexact: 'inexact',
  partial: 'inexact',
  relatedto: 'relatedto',
  'related-to': 'relatedto',
  unmatched: 'unmatched',
  disjoint: 'disjoint',
};

/** A relationship cell as an R4 ConceptMapEquivalence; empty → relatedto; unknown → undefined. */
export function equivalenceOf(cell: string | undefined): string | undefined {
  const value = cell?.trim().toLowerCase() ?? '';
  return value === '' ? 'relatedto' : EQUIVALENCES[value];
}

export async function readIcpc2Icd10Map(
  path: string,
  options: Icpc2Icd10MapOptions,
): Promise<ConceptMapContent> {
  // The header must be known before the content is handed out; peek at the first row.
  const first = await firstRecord(path);
  if (first === undefined) throw new ConversionTableError(`${path}: no rows`);
  const columns = columnsOf(Object.keys(first), path);
  const targetSystem = options.targetSystem ?? ICD10_URL;
  return {
    url: options.url ?? ICPC2_ICD10_MAP_URL,
    version: options.version,
    name: 'ICPC2toICD10',
    title: 'ICPC-2 to ICD-10 conversion',
    sourceValueSet: `${ICPC2_URL}?fhir_vs`,
    targetValueSet: `${targetSystem}?fhir_vs`,
    mappings: tableMappings(path, columns, targetSystem),
  };
}

async function firstRecord(path: string): Promise<CsvRecord | undefined> {
  for await (const record of readCsvRecords(path)) return record;
  return undefined;
}

type Columns = ReturnType<typeof columnsOf>;

function columnsOf(headers: readonly string[], path: string) {
  const source = findColumn(headers, ICPC_COLUMNS);
  const target = findColumn(headers, ICD_COLUMNS);
  if (source === undefined || target === undefined) {
    throw new ConversionTableError(
      `${path}: needs an ICPC-2 column (${ICPC_COLUMNS.join(', ')}) and an ICD-10 column (${ICD_COLUMNS.join(', ')}); it has ${headers.join(', ')}`,
    );
  }
  return {
    source,
    target,
    sourceTitle: findColumn(headers, ICPC_TITLE_COLUMNS),
    targetTitle: findColumn(headers, ICD_TITLE_COLUMNS),
    relationship: findColumn(headers, RELATIONSHIP_COLUMNS),
    comment: findColumn(headers, COMMENT_COLUMNS),
  };
}

async function* tableMappings(
  path: string,
  columns: Columns,
  targetSystem: string,
): AsyncGenerator<ConceptMapping> {
  let row = 1;
  for await (const record of readCsvRecords(path)) {
    row += 1;
    const sourceCode = record[columns.source]?.trim() ?? '';
    if (sourceCode === '') continue;
    const cell = columns.relationship === undefined ? undefined : record[columns.relationship];
    const equivalence = equivalenceOf(cell);
    if (equivalence === undefined) {
      throw new ConversionTableError(
        `${path}: row ${row}: relationship "${cell ?? ''}" is not one this importer knows`,
      );
    }
    const targetCode = normaliseIcd10(record[columns.target] ?? '');
    const sourceDisplay = cellOf(record, columns.sourceTitle);
    const targetDisplay = cellOf(record, columns.targetTitle);
    const comment = cellOf(record, columns.comment);
    yield {
      source: {
        system: ICPC2_URL,
        code: sourceCode,
        ...(sourceDisplay !== undefined ? { display: sourceDisplay } : {}),
      },
      ...(targetCode !== ''
        ? {
            target: {
              system: targetSystem,
              code: targetCode,
              ...(targetDisplay !== undefined ? { display: targetDisplay } : {}),
            },
          }
        : {}),
      equivalence: targetCode === '' ? 'unmatched' : equivalence,
      ...(comment !== undefined ? { comment } : {}),
    };
  }
}

/** Tables write `J450`, `J45.0`, `j45.0 ` alike; ICD-10 codes are exchanged as `J45.0`. */
export function normaliseIcd10(cell: string): string {
  const code = cell.trim().toUpperCase().replace(/[\s.]/g, '');
  if (code === '') return '';
  return code.length > 3 && /^[A-Z]\d\d/.test(code) ? `${code.slice(0, 3)}.${code.slice(3)}` : code;
}

function cellOf(record: CsvRecord, column: string | undefined): string | undefined {
  const value = column === undefined ? undefined : record[column]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
