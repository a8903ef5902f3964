/**
 * Streams a delimited text file (CSV, semicolon-separated as European spreadsheets save it, or
 * tab-separated) as records keyed by the header row, through `csv-parse` — quoting, embedded
 * line breaks and a byte-order mark are its business, not ours. The delimiter is the one the
 * header line uses most.
 */
import { CsvError, parse } from 'csv-parse';
import { openSourceStream, readLines } from './source-stream.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export type CsvRecord = Readonly<Record<string, string>>;

export interface CsvOptions {
  /** Forces the delimiter instead of guessing it from the header line. */
  delimiter?: string;
}

export async function* readCsvRecords(path: string, options: CsvOptions = {}): AsyncGenerator<CsvRecord> {
  const delimiter = options.delimiter ?? guessDelimiter(await firstLine(path));
  const parser = (await openSourceStream(path)).pipe(
    parse({
      columns: (header: string[]) => header.map((name) => name.trim()),
      delimiter,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }),
  );
  try {
    for await (const record of parser) yield record as CsvRecord;
  } catch (error) {
    // csv-parse says what is wrong and where (`Invalid Closing Quote … at line 12`); add the file.
    if (error instanceof CsvError) throw new TerminologySourceError(`${path}: ${error.message}`);
    throw error;
  }
}

async function firstLine(path: string): Promise<string> {
  for await (const line of readLines(path)) return line;
  return '';
}

export function guessDelimiter(headerLine: string): string {
  const candidates = [',', ';', '\t', '|'];
  let best = ',';
  let bestCount = 0;
  for (const candidate of candidates) {
    const count = headerLine.split(candidate).length - 1;
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}

/** The first header among `names` (compared without case, spaces, `-` or `_`) that the file has. */
export function findColumn(headers: readonly string[], names: readonly string[]): string | undefined {
  const normal = (name: string) => name.toLowerCase().replace(/[\s_\-.]/g, '');
  for (const wanted of names) {
    const found = headers.find((header) => normal(header) === normal(wanted));
    if (found !== undefined) return found;
  }
  return undefined;
}
