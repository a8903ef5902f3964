/**
 * Server-side files named in a `$import` request: only under the directory the operator allowed
 * (`CONCORDIA_IMPORT_DIR`). A name is resolved against that directory, then every file it leads
 * to is resolved through symbolic links, and anything that ends up outside is refused — `..`,
 * absolute paths elsewhere, `file:` URLs elsewhere, and links that point out alike.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ImportPlan, ImportSourceError, planImport } from './import-sources.ts';

/** Why a named source cannot be imported: outside the directory, not allowed, or absent. */
export class ImportSourceRefused extends Error {
  constructor(
    readonly reason: 'outside' | 'unsupported' | 'missing',
    message: string,
  ) {
    super(message);
    this.name = 'ImportSourceRefused';
  }
}

/**
 * The files `names` lead to, in import order (hospital and practitioner Bundles first).
 * A name is a path relative to `allowedDirectory`, an absolute path in it, or a `file:` URL.
 */
export async function resolveImportSources(
  allowedDirectory: string,
  names: readonly string[],
): Promise<ImportPlan> {
  const root = await realpath(allowedDirectory).catch(() => {
    throw new ImportSourceRefused('missing', `The import directory ${allowedDirectory} does not exist`);
  });
  const paths = names.map((name) => inside(root, resolve(root, localPath(name)), name));
  let plan: ImportPlan;
  try {
    plan = await planImport(paths);
  } catch (error) {
    if (error instanceof ImportSourceError) {
      throw new ImportSourceRefused('missing', error.message.replaceAll(root, '<import dir>'));
    }
    throw error;
  }
  for (const file of [...plan.first, ...plan.rest]) inside(root, await realpath(file), file);
  return plan;
}

function localPath(name: string): string {
  if (/^file:/i.test(name)) {
    try {
      return fileURLToPath(name);
    } catch {
      throw new ImportSourceRefused('unsupported', `${name} is not a valid file URL`);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name)) {
    throw new ImportSourceRefused(
      'unsupported',
      `${name}: only files under the server's import directory can be named (paths or file: URLs)`,
    );
  }
  return name;
}

function inside(root: string, path: string, name: string): string {
  const rest = relative(root, path);
  if (rest === '' || (!rest.startsWith(`..${sep}`) && rest !== '..' && !isAbsolute(rest))) return path;
  throw new ImportSourceRefused('outside', `${name} is outside the server's import directory`);
}
