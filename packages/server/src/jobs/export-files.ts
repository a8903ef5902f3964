/**
 * The durable output area of bulk exports: `<export dir>/<job id>/<Type>-<n>.ndjson`, one
 * resource per line (http://ndjson.org). The writer appends a page at a time, starts a new file
 * when one reaches its line or byte limit, and describes what it has written as `ExportFile`s that
 * the job checkpoints. Reopened from a checkpoint, it cuts every file back to the length the
 * checkpoint recorded and removes files started after it, so the lines of the page that was in
 * flight when a node died are written exactly once, by the job that resumes.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { isUuid } from './job-store.ts';

export interface ExportFile {
  /** `output` files hold the exported resources; `error` files OperationOutcomes (manifest `error`). */
  kind: 'output' | 'error';
  type: string;
  name: string;
  /** Lines (resources) and bytes written, as of the last checkpoint. */
  count: number;
  bytes: number;
}

export interface FileLimits {
  maxResources: number;
  maxBytes: number;
}

export interface ExportWriter {
  /** What has been written so far: save it with the position the next page starts from. */
  files(): ExportFile[];
  /** Appends one line per JSON text, starting new files at the limits. */
  append(kind: ExportFile['kind'], type: string, lines: readonly string[]): Promise<void>;
  /** Flushes to disk: call before checkpointing what `files()` says. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The directory of one export; the id is checked so that it can never name another path. */
export function exportDirectory(root: string, jobId: string): string {
  if (!isUuid(jobId)) throw new RangeError(`not a job id: ${jobId}`);
  return join(root, jobId.toLowerCase());
}

const FILE_NAME = /^(error-)?[A-Za-z]+-\d+\.ndjson$/;

/** A file of an export, or undefined when the name could not be one (no path tricks). */
export function exportFilePath(root: string, jobId: string, name: string): string | undefined {
  if (!isUuid(jobId) || !FILE_NAME.test(name)) return undefined;
  return join(exportDirectory(root, jobId), name);
}

export async function exportExists(root: string, jobId: string): Promise<boolean> {
  try {
    return (await stat(exportDirectory(root, jobId))).isDirectory();
  } catch {
    return false;
  }
}

export async function removeExport(root: string, jobId: string): Promise<void> {
  await rm(exportDirectory(root, jobId), { recursive: true, force: true });
}

/**
 * Opens the output of `jobId` where the checkpoint `files` left it.
 * @throws Error when a checkpointed file is shorter than recorded: written output was lost.
 */
export async function openExportWriter(
  root: string,
  jobId: string,
  checkpointed: readonly ExportFile[],
  limits: FileLimits,
): Promise<ExportWriter> {
  const directory = exportDirectory(root, jobId);
  await mkdir(directory, { recursive: true });
  const known = new Set(checkpointed.map((file) => file.name));
  for (const entry of await readdir(directory)) {
    if (!known.has(entry)) await rm(join(directory, entry), { force: true });
  }
  for (const file of checkpointed) {
    const path = join(directory, file.name);
    const size = await stat(path).then(
      (found) => found.size,
      () => -1,
    );
    if (size < file.bytes) {
      throw new Error(`export file ${file.name} has ${Math.max(size, 0)} bytes, ${file.bytes} were written`);
    }
    if (size > file.bytes) await truncate(path, file.bytes);
  }
  const files = checkpointed.map((file) => ({ ...file }));
  let current: { file: ExportFile; handle: FileHandle } | undefined;

  const closeCurrent = async (): Promise<void> => {
    if (current === undefined) return;
    const { handle } = current;
    current = undefined;
    await handle.sync();
    await handle.close();
  };

  /** The file lines of `type` go to now: the last one of its kind and type, unless it is full. */
  const target = async (kind: ExportFile['kind'], type: string, bytes: number): Promise<ExportFile> => {
    const last = files.at(-1);
    const fits =
      last !== undefined &&
      last.kind === kind &&
      last.type === type &&
      last.count < limits.maxResources &&
      (last.count === 0 || last.bytes + bytes <= limits.maxBytes);
    if (fits && last !== undefined) {
      if (current?.file !== last) {
        await closeCurrent();
        current = { file: last, handle: await open(join(directory, last.name), constants.O_WRONLY) };
      }
      return last;
    }
    await closeCurrent();
    const part = files.filter((file) => file.type === type && file.kind === kind).length + 1;
    const prefix = kind === 'error' ? 'error-' : '';
    const file: ExportFile = { kind, type, name: `${prefix}${type}-${part}.ndjson`, count: 0, bytes: 0 };
    files.push(file);
    current = { file, handle: await open(join(directory, file.name), 'w') };
    return file;
  };

  return {
    files: () => files.map((file) => ({ ...file })),
    async append(kind, type, lines) {
      let file: ExportFile | undefined;
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      const flush = async () => {
        if (file === undefined || current === undefined || chunk.length === 0) return;
        await current.handle.write(Buffer.concat(chunk, chunkBytes), 0, chunkBytes, file.bytes);
        file.count += chunk.length;
        file.bytes += chunkBytes;
        chunk = [];
        chunkBytes = 0;
      };
      for (const line of lines) {
        const bytes = Buffer.from(`${line}\n`, 'utf8');
        const overflows =
          file === undefined ||
          file.count + chunk.length >= limits.maxResources ||
          (file.count + chunk.length > 0 && file.bytes + chunkBytes + bytes.length > limits.maxBytes);
        if (overflows) {
          await flush();
          file = await target(kind, type, bytes.length);
        }
        chunk.push(bytes);
        chunkBytes += bytes.length;
      }
      await flush();
    },
    async sync() {
      await current?.handle.sync();
    },
    close: closeCurrent,
  };
}

/**
 * Removes the output of exports that are over: every directory whose job `isLive` says no longer
 * needs its files (expired, cancelled, failed long ago, or unknown). Returns how many it removed.
 */
export async function sweepExports(
  root: string,
  isLive: (jobId: string) => Promise<boolean>,
): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    if (!isUuid(entry) || (await isLive(entry))) continue;
    await removeExport(root, entry);
    removed++;
  }
  return removed;
}
