/**
 * Expands the paths given to `concordia import` into the files to load, in two phases.
 * Synthea writes the organisations and practitioners every patient Bundle refers to into
 * `hospitalInformation*.json` and `practitionerInformation*.json`; those must be stored before
 * any patient Bundle that points at them, so they form the first phase.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { importFileFormat, SUPPORTED_SUFFIXES } from './import-file-reader.ts';

export interface ImportPlan {
  /** Files that others refer to; imported completely before `rest` starts. */
  first: string[];
  rest: string[];
}

/** A path the user gave that cannot be imported; the CLI prints the message and fails. */
export class ImportSourceError extends Error {
  override name = 'ImportSourceError';
}

const REFERENCED_FIRST = /hospitalInformation|practitionerInformation/;

export async function planImport(paths: readonly string[]): Promise<ImportPlan> {
  const files: string[] = [];
  for (const path of paths) files.push(...(await filesAt(path)));
  const unique = [...new Set(files)];
  return {
    first: unique.filter((file) => REFERENCED_FIRST.test(basename(file))),
    rest: unique.filter((file) => !REFERENCED_FIRST.test(basename(file))),
  };
}

async function filesAt(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new ImportSourceError(`${path}: no such file or directory`);
  if (info.isDirectory()) return (await filesUnder(path)).sort(byPath);
  if (importFileFormat(path) === undefined) {
    throw new ImportSourceError(`${path}: unsupported file type (expected ${SUPPORTED_SUFFIXES.join(', ')})`);
  }
  return [path];
}

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else if (entry.isFile() && importFileFormat(entry.name) !== undefined) found.push(path);
  }
  return found;
}

function byPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
