/**
 * ICPC-2 as a spreadsheet export, the form national centres most often hand out: one row per
 * code with a code column and a title column, and optionally a longer title, inclusion and
 * exclusion criteria. Column names are matched loosely (`Code`/`kode`/`ICPC-2`, `Title`/`tekst`/
 * `Preferred`…), comma, semicolon or tab separated.
 */
import type { CodeSystemContent, ConceptDesignation } from '../code-system-content.ts';
import { codeSystemContent } from '../in-memory-content.ts';
import { findColumn, readCsvRecords } from './csv-records.ts';
import { type Icpc2Entry, type Icpc2Language, icpc2Concepts, icpc2Header } from './icpc2.ts';
import { Icpc2FormatError, type Icpc2Options } from './icpc2-json.ts';

const CODE_COLUMNS = ['code', 'kode', 'icpc2', 'icpc-2', 'icpc', 'icpc2 code', 'icpc code'];
const TITLE_COLUMNS = [
  'title',
  'preferred',
  'display',
  'text',
  'tekst',
  'description',
  'shorttitle',
  'term',
  'label',
];
const LONG_TITLE_COLUMNS = ['longtitle', 'long title', 'fulltitle', 'langtekst'];
const INCLUSION_COLUMNS = ['inclusion', 'inclusions', 'includes', 'inkluderer'];
const CRITERIA_COLUMNS = ['criteria', 'inclusion criteria', 'kriterier', 'definition'];

export async function readIcpc2Csv(path: string, options: Icpc2Options): Promise<CodeSystemContent> {
  const language: Icpc2Language = options.language ?? 'en';
  const entries: Icpc2Entry[] = [];
  let columns: ReturnType<typeof columnsOf> | undefined;
  for await (const record of readCsvRecords(path)) {
    columns ??= columnsOf(Object.keys(record), path);
    const code = record[columns.code]?.trim() ?? '';
    if (code === '') continue;
    const title = record[columns.title]?.trim() ?? '';
    const designations: ConceptDesignation[] = [];
    const longTitle = columns.longTitle === undefined ? '' : (record[columns.longTitle]?.trim() ?? '');
    if (longTitle !== '' && longTitle !== title)
      designations.push({ language, use: { code: 'long-title' }, value: longTitle });
    const inclusion = columns.inclusion === undefined ? '' : (record[columns.inclusion]?.trim() ?? '');
    if (inclusion !== '')
      designations.push({
        language,
        use: { code: 'inclusion', display: 'Inclusion term' },
        value: inclusion,
      });
    const criteria = columns.criteria === undefined ? '' : (record[columns.criteria]?.trim() ?? '');
    entries.push({
      code,
      display: title,
      designations,
      ...(criteria !== '' ? { definition: criteria } : {}),
    });
  }
  return codeSystemContent(
    icpc2Header(options.version, language),
    icpc2Concepts(entries, { language, onWarning: options.onWarning }),
  );
}

function columnsOf(headers: readonly string[], path: string) {
  const code = findColumn(headers, CODE_COLUMNS);
  const title = findColumn(headers, TITLE_COLUMNS);
  if (code === undefined || title === undefined) {
    throw new Icpc2FormatError(
      `${path}: needs a code column (${CODE_COLUMNS.join(', ')}) and a title column (${TITLE_COLUMNS.join(', ')}); it has ${headers.join(', ')}`,
    );
  }
  return {
    code,
    title,
    longTitle: findColumn(headers, LONG_TITLE_COLUMNS),
    inclusion: findColumn(headers, INCLUSION_COLUMNS),
    criteria: findColumn(headers, CRITERIA_COLUMNS),
  };
}
