/**
 * Multiplies the Synthea R4 transaction Bundles into a dataset of a chosen size: copy after copy
 * of every source resource (synthea-copy.ts), written as gzipped NDJSON per copy and resource
 * type, until the target count is reached. The source Bundles are re-read for every copy instead of
 * kept in memory, so memory is bounded by one Bundle plus one copy's id set, not by the output.
 *
 * Layout: `<dir>/ndjson/copy-0000/Patient.ndjson.gz`, … (what `concordia import <dir>/ndjson`
 * loads), and `<dir>/samples.json` (search-samples.ts), written last: its presence means the
 * dataset is complete.
 */
import { createReadStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { isJsonObject, type JsonObject, objectsAt, stringAt } from './json-value.ts';
import { NdjsonByType } from './ndjson-writer.ts';
import { SampleCollector, type SearchSamples } from './search-samples.ts';
import { writeSearchSamples } from './search-samples-file.ts';
import { copyResource, copyRules } from './synthea-copy.ts';

export interface MultiplyOptions {
  sourceDir: string;
  outputDir: string;
  /** Resources to write in all; the last copy stops part-way when it is reached. */
  resources: number;
  onProgress?: (progress: MultiplyProgress) => void;
}

export interface MultiplyProgress {
  copy: number;
  written: number;
  target: number;
  seconds: number;
}

export interface MultiplyResult {
  samples: SearchSamples;
  seconds: number;
  danglingReferences: number;
}

interface SourceEntry {
  sourceId: string;
  resource: JsonObject;
}

const progressEvery = 10_000;

export function ndjsonDirectory(datasetDir: string): string {
  return join(datasetDir, 'ndjson');
}

export async function multiplySynthea(options: MultiplyOptions): Promise<MultiplyResult> {
  const { outputDir, resources: target, onProgress } = options;
  const started = performance.now();
  const sources = await sourceFiles(options.sourceDir);
  if (sources.length === 0) throw new Error(`no Synthea Bundles (*.json.gz) in ${options.sourceDir}`);
  const typeOfSourceId = await indexSourceIds(sources);
  await rm(outputDir, { recursive: true, force: true });

  const collector = new SampleCollector();
  const seconds = (): number => (performance.now() - started) / 1000;
  let written = 0;
  let dangling = 0;
  let copy = 0;
  for (; written < target; copy++) {
    const rules = copyRules(copy, typeOfSourceId);
    const output = new NdjsonByType(
      join(ndjsonDirectory(outputDir), `copy-${String(copy).padStart(4, '0')}`),
    );
    // Synthea repeats the Organization and Practitioner of every encounter in each patient's Bundle.
    const writtenInCopy = new Set<string>();
    try {
      for (const file of sources) {
        for (const entry of await sourceEntries(file)) {
          if (written >= target) break;
          if (writtenInCopy.has(entry.sourceId)) continue;
          writtenInCopy.add(entry.sourceId);
          const copied = copyResource(entry.resource, entry.sourceId, rules);
          dangling += copied.danglingReferences;
          collector.observe(copied.resourceType, copied.id, copied.resource, rules.familySuffix);
          await output.write(copied.resourceType, JSON.stringify(copied.resource));
          written += 1;
          if (written % progressEvery === 0) onProgress?.({ copy, written, target, seconds: seconds() });
        }
        if (written >= target) break;
      }
    } finally {
      await output.close();
    }
  }
  const samples = collector.result(copy);
  await writeSearchSamples(outputDir, samples);
  return { samples, seconds: seconds(), danglingReferences: dangling };
}

/**
 * Synthea's hospital and practitioner Bundles come first, as the importer loads them first: the
 * patient Bundles refer to what they hold.
 */
async function sourceFiles(directory: string): Promise<string[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.json.gz')).sort();
  const shared = names.filter((name) => /hospitalInformation|practitionerInformation/.test(name));
  const patients = names.filter((name) => !shared.includes(name));
  return [...shared, ...patients].map((name) => join(directory, name));
}

/** Source id → resource type, so that `urn:uuid:<id>` references can become `Type/<id>`. */
async function indexSourceIds(files: string[]): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  for (const file of files) {
    for (const { sourceId, resource } of await sourceEntries(file)) {
      const type = stringAt(resource, 'resourceType');
      if (type !== undefined) types.set(sourceId, type);
    }
  }
  return types;
}

async function sourceEntries(file: string): Promise<SourceEntry[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file).pipe(createGunzip())) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  }
  const bundle: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!isJsonObject(bundle)) return [];
  return objectsAt(bundle, 'entry').flatMap((entry) => {
    const resource = entry.resource;
    if (!isJsonObject(resource)) return [];
    const fullUrl = stringAt(entry, 'fullUrl');
    const sourceId =
      stringAt(resource, 'id') ??
      (fullUrl?.startsWith('urn:uuid:') ? fullUrl.slice('urn:uuid:'.length) : undefined);
    return sourceId === undefined ? [] : [{ sourceId, resource }];
  });
}
