/**
 * The FHIR resources in what an operator points the `fhir` importer at: one `.json` file (a
 * resource or a Bundle, gzipped or not), an `.ndjson` file, a folder (searched recursively; an
 * NPM package folder is one), or an NPM package tarball (`.tgz`, as `npm pack` and the FHIR
 * package registry ship: files under `package/`). Package metadata (`package.json`,
 * `.index.json`) and non-JSON files are skipped. Each file is parsed on its own: a package is
 * thousands of small files, never one string.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { isRecord } from '@concordia/fhir';
import { extract } from 'tar-stream';
import type { ItemLocation } from '../../import/import-item.ts';
import { readSmallTextFile } from './source-stream.ts';

/** Where to look when it fails; a file inside a tarball is `package.tgz!package/CodeSystem-x.json`. */
export type FhirResourceItem =
  | { kind: 'resource'; resource: Record<string, unknown>; location: ItemLocation }
  /** A file that is not JSON or not a resource: reported, and the import goes on. */
  | { kind: 'unreadable'; reason: string; location: ItemLocation };

export async function* readFhirResources(path: string): AsyncGenerator<FhirResourceItem> {
  const info = await stat(path);
  if (info.isDirectory()) {
    for (const file of await jsonFilesUnder(path))
      yield* resourcesInText(await readSmallTextFile(file), file);
  } else if (/\.(tgz|tar\.gz|tar)$/i.test(path)) {
    yield* resourcesInTarball(path);
  } else {
    yield* resourcesInText(await readSmallTextFile(path), path);
  }
}

/** `package.json` and the like (`hl7.terminology.r4.package.json`), `.index.json`: package metadata. */
function isResourceFileName(name: string): boolean {
  const base = name.split('/').at(-1) ?? name;
  if (/(^|\.)package(-lock)?\.json$/i.test(base) || base === '.index.json') return false;
  return /\.(json|ndjson)(\.gz)?$/i.test(base);
}

async function jsonFilesUnder(folder: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await jsonFilesUnder(path)));
    else if (isResourceFileName(entry.name)) files.push(path);
  }
  return files.sort();
}

async function* resourcesInTarball(path: string): AsyncGenerator<FhirResourceItem> {
  const tar = extract();
  const source = createReadStream(path);
  (/\.tar$/i.test(path) ? source : source.pipe(createGunzip())).pipe(tar);
  for await (const entry of tar) {
    const name = entry.header.name;
    if (entry.header.type !== 'file' || !isResourceFileName(name)) {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    yield* resourcesInText(
      Buffer.concat(chunks)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
      `${path}!${name}`,
    );
  }
}

function* resourcesInText(text: string, file: string): Generator<FhirResourceItem> {
  if (/\.ndjson(\.gz)?$/i.test(file)) {
    let line = 0;
    for (const json of text.split('\n')) {
      line += 1;
      if (json.trim() !== '') yield* resourcesInJson(json, { file, line });
    }
    return;
  }
  yield* resourcesInJson(text, { file });
}

function* resourcesInJson(json: string, location: ItemLocation): Generator<FhirResourceItem> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    yield {
      kind: 'unreadable',
      location,
      reason: `not JSON (${error instanceof Error ? error.message : String(error)})`,
    };
    return;
  }
  yield* resourcesInValue(value, location);
}

function* resourcesInValue(value: unknown, location: ItemLocation): Generator<FhirResourceItem> {
  if (!isRecord(value) || typeof value.resourceType !== 'string') {
    yield { kind: 'unreadable', location, reason: 'not a FHIR resource (no resourceType)' };
    return;
  }
  if (value.resourceType !== 'Bundle') {
    yield { kind: 'resource', resource: value, location };
    return;
  }
  const entries = Array.isArray(value.entry) ? value.entry : [];
  for (const [index, entry] of entries.entries()) {
    if (isRecord(entry) && isRecord(entry.resource)) {
      yield* resourcesInValue(entry.resource, { ...location, entry: index });
    }
  }
}
