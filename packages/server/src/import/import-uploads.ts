/**
 * Where `$import` keeps what clients upload until its job has loaded it: files under
 * `<dataDir>/import-uploads`, named by a random UUID and the suffix the file reader expects
 * (import-file-reader.ts). The body is streamed to disk, never held in memory whole, and counted
 * against `maxBytes` as it arrives.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ImportUploads {
  readonly directory: string;
  readonly maxBytes: number;
  /** Streams `body` into a new `.ndjson` file; `UploadTooLarge` (and no file) past `maxBytes`. */
  saveStream(body: Readable): Promise<{ path: string; bytes: number }>;
  /** Writes an already parsed value (a Bundle sent as JSON) into a new `.json` file. */
  saveJson(value: unknown): Promise<{ path: string; bytes: number }>;
  remove(path: string): Promise<void>;
}

export class UploadTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`The upload exceeds the limit of ${maxBytes} bytes`);
    this.name = 'UploadTooLarge';
  }
}

export function importUploads(dataDir: string, maxBytes: number): ImportUploads {
  const directory = join(dataDir, 'import-uploads');
  const newPath = async (suffix: string): Promise<string> => {
    await mkdir(directory, { recursive: true });
    return join(directory, `${randomUUID()}${suffix}`);
  };
  return {
    directory,
    maxBytes,
    async saveStream(body) {
      const path = await newPath('.ndjson');
      let bytes = 0;
      try {
        await pipeline(
          body,
          async function* limit(chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              bytes += chunk.length;
              if (bytes > maxBytes) throw new UploadTooLarge(maxBytes);
              yield chunk;
            }
          },
          createWriteStream(path),
        );
      } catch (error) {
        await rm(path, { force: true });
        throw error;
      }
      return { path, bytes };
    },
    async saveJson(value) {
      const path = await newPath('.json');
      const text = JSON.stringify(value);
      await writeFile(path, text);
      return { path, bytes: Buffer.byteLength(text) };
    },
    async remove(path) {
      await rm(path, { force: true });
    },
  };
}
