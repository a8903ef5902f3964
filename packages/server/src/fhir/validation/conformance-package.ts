/**
 * FHIR NPM packages (https://confluence.hl7.org/display/FHIR/NPM+Package+Specification): an
 * implementation guide ships its StructureDefinitions, ValueSets and CodeSystems as JSON files
 * under `package/`, either unpacked in a folder or as the `.tgz` the registry serves. This reads
 * the conformance resources out of either, without trusting anything else in the package.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { fhirError, isRecord } from '@concordia/fhir';
import tar from 'tar-stream';

/** The resource types a package contributes to validation. */
export const CONFORMANCE_TYPES: ReadonlySet<string> = new Set([
  'StructureDefinition',
  'ValueSet',
  'CodeSystem',
]);

export interface ConformancePackage {
  /** `name#version` from package.json, or the path when there is none. */
  name: string;
  resources: Record<string, unknown>[];
}

function conformanceResource(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isRecord(parsed) &&
    typeof parsed.resourceType === 'string' &&
    CONFORMANCE_TYPES.has(parsed.resourceType)
    ? parsed
    : undefined;
}

function packageName(manifest: string | undefined, fallback: string): string {
  if (manifest === undefined) return fallback;
  try {
    const parsed: unknown = JSON.parse(manifest);
    if (isRecord(parsed) && typeof parsed.name === 'string') {
      return typeof parsed.version === 'string' ? `${parsed.name}#${parsed.version}` : parsed.name;
    }
  } catch {
    // A broken package.json leaves the path as the name.
  }
  return fallback;
}

async function readFolder(path: string): Promise<ConformancePackage> {
  // A package unpacked as-is has its files in `package/`; a bare folder of JSON is accepted too.
  const inner = join(path, 'package');
  const dir = (await stat(inner).catch(() => undefined))?.isDirectory() === true ? inner : path;
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json') && file !== 'package.json');
  const resources: Record<string, unknown>[] = [];
  for (const file of files) {
    const resource = conformanceResource(await readFile(join(dir, file), 'utf8'));
    if (resource !== undefined) resources.push(resource);
  }
  const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
  return { name: packageName(manifest, path), resources };
}

async function readTarball(path: string): Promise<ConformancePackage> {
  const extract = tar.extract();
  const resources: Record<string, unknown>[] = [];
  let manifest: string | undefined;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      const wanted = header.type === 'file' && /^package\/[^/]+\.json$/.test(header.name);
      stream.on('data', (chunk: unknown) => {
        if (wanted && Buffer.isBuffer(chunk)) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (wanted) {
          const text = Buffer.concat(chunks).toString('utf8');
          if (header.name === 'package/package.json') manifest = text;
          else {
            const resource = conformanceResource(text);
            if (resource !== undefined) resources.push(resource);
          }
        }
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  const source = createReadStream(path);
  source.on('error', (error) => extract.destroy(error));
  source
    .pipe(createGunzip())
    .on('error', (error) => extract.destroy(error))
    .pipe(extract);
  await done;
  return { name: packageName(manifest, path), resources };
}

/** The conformance resources of a package folder or `.tgz`. */
export async function readConformancePackage(path: string): Promise<ConformancePackage> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw fhirError('not-found', 'not-found', `No package at ${path}`);
  return info.isDirectory() ? readFolder(path) : readTarball(path);
}

/** Every package in a directory: its `.tgz` files and its sub-folders. */
export async function readConformanceDirectory(dir: string): Promise<ConformancePackage[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const packages: ConformancePackage[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory() || entry.name.endsWith('.tgz'))
      packages.push(await readConformancePackage(join(dir, entry.name)));
  }
  return packages;
}
