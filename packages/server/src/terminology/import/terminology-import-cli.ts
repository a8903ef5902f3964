/**
 * `concordia terminology import <format> <path>`: load a terminology release into the concept
 * tables (or, for `fhir`, store its resources through the core and load them), showing progress
 * on stderr and printing one summary line on stdout. A file that does not read as its format
 * says so with the file (and line) and exits 1, leaving the earlier copy of the code system as
 * it was: each load is one transaction.
 */
import { stat } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import type { FhirCore } from '../../fhir/interaction.ts';
import { describeLocation } from '../../import/import-item.ts';
import type { Database } from '../../store/database.ts';
import { CodeSystemContentError, loadCodeSystem, loadConceptMap } from '../load-code-system.ts';
import { type FhirTerminologySummary, importFhirTerminology } from './import-fhir-terminology.ts';
import {
  isTerminologyFormat,
  readTerminologySource,
  type SourceOptions,
  TERMINOLOGY_FORMATS,
  type TerminologyFormat,
} from './terminology-formats.ts';
import { terminologyProgress } from './terminology-import-progress.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export interface TerminologyStore {
  database: Database;
  /** The FHIR core on that database; only the `fhir` format needs it. */
  core(): Promise<FhirCore>;
}

/** Opens the (migrated) database the command loads into; the command closes it. */
export type OpenTerminologyStore = () => Promise<TerminologyStore>;

interface ImportOptions {
  version?: string;
  url?: string;
  language?: string;
  targetSystem?: string;
}

const MAX_WARNINGS_SHOWN = 10;

export function registerTerminologyCommands(program: Command, open: OpenTerminologyStore): void {
  const terminology = program
    .command('terminology')
    .description('Manage the terminology service’s content: code systems, value sets, concept maps.');
  terminology
    .command('import')
    .description('Load a terminology release (code system or concept map) into the terminology service.')
    .argument('<format>', `one of: ${TERMINOLOGY_FORMATS.join(', ')}`, formatArgument)
    .argument('<path>', 'the release file or folder; .gz files are read through gzip')
    .option('--version <version>', 'the release loaded (required where the files do not state it)')
    .option('--url <url>', 'canonical URL of the code system or concept map, instead of the usual one')
    .option('--language <code>', 'claml: language of the display (e.g. de); icpc2: en or nb')
    .option('--target-system <url>', 'icpc2-icd10-map: the ICD-10 system the table maps to')
    .addHelpText(
      'after',
      `
Formats:
  claml            WHO ICD-10 (or another classification) in ClaML 2.0 XML; version from <Title>
  icd10cm          CDC ICD-10-CM: the tabular XML, the order file, or a folder with both (best:
                   the order file's codes and billable flags under the tabular list's chapters)
  icpc2            ICPC-2 as JSON ({code, display} / {code, text}), CSV, or ClaML; needs --version
                   except ClaML; a list of {code, text} is taken as Norwegian (nb)
  loinc            LoincTable/Loinc.csv; version from the path (Loinc_2.76/…) or --version
  snomed-rf2       the folder of an RF2 release (Snapshot files); version URI from the files
  fhir             CodeSystem, ValueSet, ConceptMap, NamingSystem resources: a .json(.gz) file, a
                   Bundle, .ndjson, a folder, or an NPM package (folder or .tgz); stored through
                   the FHIR API and loaded; --version, --url, --language do not apply
  icpc2-icd10-map  an ICPC-2 → ICD-10 conversion table (CSV: ICPC-2 and ICD-10 columns, optional
                   relationship column); needs --version

Loading a url and version again replaces it (one transaction); another version stays beside it
and the one loaded last answers by default. Progress goes to stderr, the summary to stdout.
Exit status: 0 loaded, 1 the files could not be read or some resources failed.
See docs/terminology.md for where to download each release and its licence.

Examples:
  $ concordia terminology import icd10cm ./icd10cm-2021/
  $ concordia terminology import claml ./icd102019en.xml
  $ concordia terminology import icpc2 ./ICPC2.no.json --version 2026-nb
  $ concordia terminology import loinc ./Loinc_2.76/LoincTable/Loinc.csv
  $ concordia terminology import snomed-rf2 ./SnomedCT_InternationalRF2_PRODUCTION_20240101T120000Z
  $ concordia terminology import fhir ./hl7.terminology.r4-7.0.1.tgz
  $ concordia terminology import icpc2-icd10-map ./icpc2-icd10.csv --version 2024`,
    )
    .action(async (format: TerminologyFormat, path: string, options: ImportOptions) => {
      try {
        await runImport(open, format, path, options);
      } catch (error) {
        if (!(error instanceof TerminologySourceError || error instanceof CodeSystemContentError))
          throw error;
        process.stderr.write(`concordia terminology import: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}

function formatArgument(value: string): TerminologyFormat {
  if (!isTerminologyFormat(value)) {
    throw new InvalidArgumentError(`must be one of ${TERMINOLOGY_FORMATS.join(', ')}`);
  }
  return value;
}

async function runImport(
  open: OpenTerminologyStore,
  format: TerminologyFormat,
  path: string,
  options: ImportOptions,
) {
  await stat(path).catch(() => {
    throw new TerminologySourceError(`${path}: no such file or folder`);
  });
  if (format === 'fhir') {
    const ignored = (['version', 'url', 'language', 'targetSystem'] as const).filter(
      (key) => options[key] !== undefined,
    );
    if (ignored.length > 0) {
      throw new TerminologySourceError(
        `the fhir format takes url and version from each resource; drop --${ignored.join(', --')}`,
      );
    }
    await importFhir(open, path);
    return;
  }
  const progress = terminologyProgress(
    process.stderr,
    format === 'icpc2-icd10-map' ? 'map elements' : 'concepts',
  );
  let warnings = 0;
  const sourceOptions: SourceOptions = {
    ...options,
    onWarning: (message) => {
      warnings += 1;
      if (warnings <= MAX_WARNINGS_SHOWN) progress.log(`warning: ${message}`);
    },
  };
  const startedAt = performance.now();
  const { database } = await open();
  try {
    const source = await readTerminologySource(format, path, sourceOptions);
    const loaded =
      source.kind === 'code-system'
        ? {
            ...(await loadCodeSystem(database, source.content, { onProgress: (n) => progress.update(n) })),
            url: source.content.header.url,
          }
        : {
            concepts: (await loadConceptMap(database, source.content)).elements,
            version: source.content.version,
            url: source.content.url,
          };
    progress.update(loaded.concepts);
    progress.stop();
    const seconds = (performance.now() - startedAt) / 1000;
    const unit = source.kind === 'code-system' ? 'concepts' : 'map elements';
    process.stdout.write(
      `Loaded ${loaded.concepts} ${unit} of ${loaded.url}|${loaded.version} in ${seconds.toFixed(1)} s ` +
        `(${Math.round(loaded.concepts / Math.max(seconds, 0.001))} ${unit}/s)` +
        `${warnings > 0 ? `; ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}` : ''}.\n`,
    );
  } finally {
    progress.stop();
    await database.close();
  }
}

async function importFhir(open: OpenTerminologyStore, path: string) {
  const progress = terminologyProgress(process.stderr, 'resources');
  const startedAt = performance.now();
  const store = await open();
  try {
    const summary = await importFhirTerminology({ core: await store.core() }, path, {
      progressed: (totals) => progress.update(totals.resources),
      failed: (failure) =>
        progress.log(`failed: ${describeLocation(failure.location)}: ${failure.diagnostics}`),
    });
    progress.stop();
    process.stdout.write(`${formatFhirSummary(summary, (performance.now() - startedAt) / 1000)}\n`);
    if (summary.failures.length > 0) process.exitCode = 1;
  } finally {
    progress.stop();
    await store.database.close();
  }
}

export function formatFhirSummary(summary: FhirTerminologySummary, seconds: number): string {
  const failures = summary.failures.length;
  return [
    `Imported ${summary.resources} terminology resources in ${seconds.toFixed(1)} s:`,
    `${summary.codeSystems} code systems with ${summary.concepts} concepts,`,
    `${summary.conceptMaps} concept maps with ${summary.mapElements} elements;`,
    `${failures} ${failures === 1 ? 'failure' : 'failures'}`,
    summary.skipped > 0 ? `; ${summary.skipped} other resources skipped (use concordia import).` : '.',
  ]
    .join(' ')
    .replace(' .', '.')
    .replace(' ;', ';');
}
