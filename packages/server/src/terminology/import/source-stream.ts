/**
 * Opens a release file as a byte stream, through zlib when it is gzipped, so that every importer
 * reads `.txt`, `.xml`, `.csv` and their `.gz` forms alike and never holds a whole release in
 * memory. Gzip is recognised by its magic bytes, not only by the name: some distributions ship
 * `.xml.gz` renamed to `.xml`, or serve gzipped files under plain names.
 */
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

export async function isGzipFile(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await file.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await file.close();
  }
}

/** The file's content, gunzipped when needed. */
export async function openSourceStream(path: string): Promise<Readable> {
  const raw = createReadStream(path);
  if (!(await isGzipFile(path))) return raw;
  const gunzip = createGunzip();
  // An unreadable file must fail the import, not leave the gunzip waiting forever.
  raw.on('error', (error) => gunzip.destroy(error));
  return raw.pipe(gunzip);
}

/** The file's lines without their line ends (`\n` or `\r\n`, as CDC's fixed-width files use). */
export async function* readLines(path: string): AsyncGenerator<string> {
  const input = await openSourceStream(path);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) yield line;
  } finally {
    // A reader that stops early (a header line, a first match) must not leave the file open.
    input.destroy();
  }
}

/** A small file (a code list of kilobytes) as one string, gunzipped when needed, without a BOM. */
export async function readSmallTextFile(path: string): Promise<string> {
  const bytes = await readFile(path);
  const text = ((await isGzipFile(path)) ? gunzipSync(bytes) : bytes).toString('utf8');
  return text.replace(/^\uFEFF/, '');
}
