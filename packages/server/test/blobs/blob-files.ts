/** The contents of every file below `dir` (blob objects): tests search them for plaintext. */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** `missingIsEmpty`: a directory not created yet (no blob object written) holds no files. */
export async function filesUnder(dir: string, options: { missingIsEmpty?: boolean } = {}): Promise<Buffer[]> {
  const listing = readdir(dir, { recursive: true, withFileTypes: true });
  const entries: Dirent[] = await (options.missingIsEmpty === true ? listing.catch(() => []) : listing);
  const files: Buffer[] = [];
  for (const entry of entries) {
    if (entry.isFile()) files.push(await readFile(join(entry.parentPath, entry.name)));
  }
  return files;
}
