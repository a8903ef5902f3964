/**
 * LOINC from its CSV release (`LoincTable/Loinc.csv`, Regenstrief's "LOINC Table File"): one
 * row per term. LONG_COMMON_NAME is the display, SHORTNAME and DisplayName designations; the six
 * axes and CLASS are string properties under the names LOINC's own FHIR CodeSystem uses
 * (loinc.org/fhir); STATUS DEPRECATED or DISCOURAGED → inactive (TRIAL stays active). LOINC's
 * hierarchy lives in the separate multiaxial file, so the terms are loaded flat. The release has
 * ~100,000 rows: parsed as a stream.
 */

import type { CodeSystemContent, ConceptDesignation, ConceptRecord } from '../code-system-content.ts';
import { type CsvRecord, readCsvRecords } from './csv-records.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export const LOINC_URL = 'http://loinc.org';

export interface LoincOptions {
  /** The release, e.g. `2.76`; read from the path (`Loinc_2.76/`) when absent. */
  version?: string;
}

export class LoincFormatError extends TerminologySourceError {}

/** Loinc.csv column → concept property code (as in LOINC's FHIR CodeSystem). */
const PROPERTY_COLUMNS: readonly [string, string][] = [
  ['COMPONENT', 'COMPONENT'],
  ['PROPERTY', 'PROPERTY'],
  ['TIME_ASPCT', 'TIME_ASPCT'],
  ['SYSTEM', 'SYSTEM'],
  ['SCALE_TYP', 'SCALE_TYP'],
  ['METHOD_TYP', 'METHOD_TYP'],
  ['CLASS', 'CLASS'],
  ['CLASSTYPE', 'CLASSTYPE'],
  ['STATUS', 'STATUS'],
  ['ORDER_OBS', 'ORDER_OBS'],
  ['EXAMPLE_UNITS', 'EXAMPLE_UNITS'],
  ['EXAMPLE_UCUM_UNITS', 'EXAMPLE_UCUM_UNITS'],
  ['VersionFirstReleased', 'VersionFirstReleased'],
  ['VersionLastChanged', 'VersionLastChanged'],
];

const INACTIVE_STATUSES = new Set(['DEPRECATED', 'DISCOURAGED']);

export function readLoinc(path: string, options: LoincOptions = {}): CodeSystemContent {
  const version = options.version ?? loincVersionFromPath(path);
  if (version === undefined)
    throw new LoincFormatError(`${path}: no LOINC version in the path (Loinc_2.76/…); pass the version`);
  return {
    header: {
      url: LOINC_URL,
      version,
      name: 'LOINC',
      title: 'Logical Observation Identifiers, Names and Codes (LOINC)',
      publisher: 'Regenstrief Institute, Inc.',
      language: 'en',
      properties: PROPERTY_COLUMNS.map(([, code]) => ({ code, type: 'string' as const })),
    },
    concepts: loincConcepts(path),
  };
}

/** `…/Loinc_2.76/LoincTable/Loinc.csv`, `loinc-2.76.csv` → `2.76`. */
export function loincVersionFromPath(path: string): string | undefined {
  return /loinc[_\- ]?(?:v)?(\d+\.\d+)/i.exec(path)?.[1];
}

async function* loincConcepts(path: string): AsyncGenerator<ConceptRecord> {
  let row = 1;
  for await (const record of readCsvRecords(path, { delimiter: ',' })) {
    row += 1;
    yield loincConcept(record, `${path}: row ${row}`);
  }
}

export function loincConcept(record: CsvRecord, where: string): ConceptRecord {
  const code = record.LOINC_NUM?.trim();
  if (code === undefined || code === '')
    throw new LoincFormatError(`${where}: no LOINC_NUM (is this Loinc.csv?)`);
  const designations: ConceptDesignation[] = [];
  const shortName = record.SHORTNAME?.trim();
  if (shortName) designations.push({ language: 'en', use: { code: 'SHORTNAME' }, value: shortName });
  const displayName = record.DisplayName?.trim();
  if (displayName) designations.push({ language: 'en', use: { code: 'DisplayName' }, value: displayName });
  const properties = PROPERTY_COLUMNS.flatMap(([column, property]) => {
    const value = record[column]?.trim();
    return value ? [{ code: property, value: { type: 'string' as const, value } }] : [];
  });
  const status = record.STATUS?.trim().toUpperCase() ?? '';
  const display = record.LONG_COMMON_NAME?.trim() || shortName || record.COMPONENT?.trim();
  return {
    code,
    ...(display ? { display } : {}),
    ...(record.DefinitionDescription?.trim() ? { definition: record.DefinitionDescription.trim() } : {}),
    parents: [],
    ...(designations.length > 0 ? { designations } : {}),
    properties,
    ...(INACTIVE_STATUSES.has(status) ? { active: false } : {}),
  };
}
