/**
 * Streams the items of one import file. NDJSON is read line by line (a bulk export file can be
 * larger than memory); a `.json` file holds one resource or Bundle and is parsed whole. `.gz`
 * files are gunzipped on the fly.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ImportItem } from './import-item.ts';

export type ImportFileFormat = 'json' | 'ndjson';

const SUPPORTED = [
  { suffix: '.ndjson.gz', format: 'ndjson', gzip: true },
  { suffix: '.ndjson', format: 'ndjson', gzip: false },
  { suffix: '.json.gz', format: 'json', gzip: true },
  { suffix: '.json', format: 'json', gzip: false },
] as const;

export const SUPPORTED_SUFFIXES: readonly string[] = SUPPORTED.map((s) => s.suffix);

export function importFileFormat(path: string): { format: ImportFileFormat; gzip: boolean } | undefined {
  const lower = path.toLowerCase();
  return SUPPORTED.find((s) => lower.endsWith(s.suffix));
}

export async function* readImportFile(path: string): AsyncGenerator<ImportItem> {
  const kind = importFileFormat(path);
  if (kind === undefined) {
    yield {
      kind: 'unreadable',
      location: { file: path },
      reason: `unsupported file type (expected ${SUPPORTED_SUFFIXES.join(', ')})`,
    };
    return;
  }
  const text = openText(path, kind.gzip);
  if (kind.format === 'ndjson') yield* ndjsonItems(path, text);
  else yield await jsonItem(path, text);
}

function openText(path: string, gzip: boolean): Readable {
  const file = createReadStream(path);
  if (!gzip) return file;
  const gunzip = createGunzip();
  // pipe() does not forward errors: a missing file must fail the gunzip stream we read from.
  file.on('error', (error) => gunzip.destroy(error));
  return file.pipe(gunzip);
}

async function* ndjsonItems(file: string, text: Readable): AsyncGenerator<ImportItem> {
  const lines = createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const raw of lines) {
    line += 1;
    const content = line === 1 ? stripByteOrderMark(raw) : raw;
    if (content.trim() === '') continue;
    yield parseItem(content, { file, line });
  }
}

async function jsonItem(file: string, text: Readable): Promise<ImportItem> {
  const chunks: Buffer[] = [];
  for await (const chunk of text) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return parseItem(stripByteOrderMark(Buffer.concat(chunks).toString('utf8')), { file });
}

function parseItem(text: string, location: ImportItem['location']): ImportItem {
  try {
    return { kind: 'value', location, value: JSON.parse(text) };
  } catch (error) {
    return { kind: 'unreadable', location, reason: `not valid JSON: ${errorMessage(error)}` };
  }
}

function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
