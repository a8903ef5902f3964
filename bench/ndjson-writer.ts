/**
 * Gzipped NDJSON files per resource type, written with backpressure so memory stays bounded
 * however many resources go through. A type is split into parts of `linesPerPart` lines:
 * `concordia import` loads several files at once but each file in order, so one big Observation
 * file would leave the import running on one connection for its whole tail.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';

interface OpenPart {
  gzip: Gzip;
  done: Promise<void>;
  lines: number;
  part: number;
}

export const defaultLinesPerPart = 5_000;

export class NdjsonByType {
  private readonly open = new Map<string, OpenPart>();
  private readonly closing: Promise<void>[] = [];
  private directoryMade = false;

  constructor(
    private readonly directory: string,
    private readonly linesPerPart = defaultLinesPerPart,
  ) {}

  async write(resourceType: string, line: string): Promise<void> {
    const file = await this.partFor(resourceType);
    file.lines += 1;
    if (!file.gzip.write(`${line}\n`)) await once(file.gzip, 'drain');
  }

  async close(): Promise<void> {
    for (const file of this.open.values()) this.finish(file);
    this.open.clear();
    await Promise.all(this.closing);
  }

  private async partFor(resourceType: string): Promise<OpenPart> {
    const current = this.open.get(resourceType);
    if (current !== undefined && current.lines < this.linesPerPart) return current;
    if (current !== undefined) this.finish(current);
    if (!this.directoryMade) {
      await mkdir(this.directory, { recursive: true });
      this.directoryMade = true;
    }
    const part = current === undefined ? 0 : current.part + 1;
    const gzip = createGzip({ level: 6 });
    const path = join(this.directory, `${resourceType}-${String(part).padStart(3, '0')}.ndjson.gz`);
    const file = { gzip, done: pipeline(gzip, createWriteStream(path)), lines: 0, part };
    this.open.set(resourceType, file);
    return file;
  }

  private finish(file: OpenPart): void {
    file.gzip.end();
    this.closing.push(file.done);
  }
}
