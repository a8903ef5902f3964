/**
 * The durable output area of bulk exports: `<export dir>/<job id>/<Type>-<n>.ndjson`, one
 * resource per line (http://ndjson.org). The writer appends a page at a time, as one write, to the
 * current file of the page's kind and type (several can be open: associated Provenance resources
 * are written beside the page they belong to), starts a new file when one reaches its line or
 * byte limit, and describes what it has written as `ExportFile`s that the job checkpoints. Reopened from a checkpoint, it cuts every file back to the length the
 * checkpoint recorded and removes files started after it, so the lines of the page that was in
 * flight when a node died are written exactly once, by the job that resumes.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open as openFile, readdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { isUuid } from './job-store.ts';

export interface ExportFile {
  /**
   * `output` files hold the exported resources; `error` files OperationOutcomes (manifest `error`);
   * `deleted` files one transaction Bundle per resource deleted since `_since` (manifest `deleted`).
   */
  kind: 'output' | 'error' | 'deleted';
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

const FILE_NAME = /^((error|deleted)-)?[A-Za-z]+-\d+\.ndjson$/;

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
  // Retried: a job that has not yet seen its cancel may create a file while the tree is removed.
  await rm(exportDirectory(root, jobId), { recursive: true, force: true, maxRetries: 3 });
}

/** Files a writer keeps open at once (see `opened`). */
const MAX_OPEN_FILES = 4;

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
  /** The open file of each kind and type, by `keyOf`, oldest first. */
  const current = new Map<string, { file: ExportFile; handle: FileHandle }>();
  const keyOf = (kind: ExportFile['kind'], type: string) => `${kind}/${type}`;
  const opened = async (key: string, entry: { file: ExportFile; handle: FileHandle }) => {
    current.set(key, entry);
    // Types are written one after the other, so a file not written for a while is done with:
    // closed (synced) once more than a few are open, not kept open for every type of a system export.
    for (const [oldKey, old] of current) {
      if (current.size <= MAX_OPEN_FILES) break;
      current.delete(oldKey);
      await old.handle.sync();
      await old.handle.close();
    }
    return entry;
  };

  const closeAll = async (): Promise<void> => {
    const open = [...current.values()];
    current.clear();
    for (const { handle } of open) {
      await handle.sync();
      await handle.close();
    }
  };

  /** The open file for `kind`/`type` that `bytes` more fit in, or a new one. */
  const target = async (kind: ExportFile['kind'], type: string, bytes: number) => {
    const key = keyOf(kind, type);
    const open = current.get(key);
    const last = open?.file ?? files.findLast((file) => file.kind === kind && file.type === type);
    const fits =
      last !== undefined &&
      last.count < limits.maxResources &&
      (last.count === 0 || last.bytes + bytes <= limits.maxBytes);
    if (fits && open !== undefined) return open;
    if (open !== undefined) {
      current.delete(key);
      await open.handle.sync();
      await open.handle.close();
    }
    if (fits && last !== undefined) {
      return opened(key, {
        file: last,
        handle: await openFile(join(directory, last.name), constants.O_WRONLY),
      });
    }
    const part = files.filter((file) => file.type === type && file.kind === kind).length + 1;
    const prefix = kind === 'output' ? '' : `${kind}-`;
    const file: ExportFile = { kind, type, name: `${prefix}${type}-${part}.ndjson`, count: 0, bytes: 0 };
    files.push(file);
    return opened(key, { file, handle: await openFile(join(directory, file.name), 'w') });
  };

  return {
    files: () => files.map((file) => ({ ...file })),
    async append(kind, type, lines) {
      // The lines of a file go out as one string in one write: no Buffer per line, and a page of
      // thousands of resources is one system call.
      if (lines.length === 0) return;
      const open = current.get(keyOf(kind, type));
      if (open !== undefined && open.file.count + lines.length <= limits.maxResources) {
        // The common case, a page that fits the open file: its length is measured once, not per line.
        const text = `${lines.join('\n')}\n`;
        const bytes = Buffer.byteLength(text, 'utf8');
        if (open.file.bytes + bytes <= limits.maxBytes) {
          await open.handle.write(text, open.file.bytes, 'utf8');
          open.file.count += lines.length;
          open.file.bytes += bytes;
          return;
        }
      }
      let into: { file: ExportFile; handle: FileHandle } | undefined;
      let chunk: string[] = [];
      let chunkBytes = 0;
      const flush = async () => {
        if (into === undefined || chunk.length === 0) return;
        const { file, handle } = into;
        chunk.push('');
        await handle.write(chunk.join('\n'), file.bytes, 'utf8');
        file.count += chunk.length - 1;
        file.bytes += chunkBytes;
        chunk = [];
        chunkBytes = 0;
      };
      for (const line of lines) {
        const bytes = Buffer.byteLength(line, 'utf8') + 1;
        const overflows =
          into === undefined ||
          into.file.count + chunk.length >= limits.maxResources ||
          (into.file.count + chunk.length > 0 && into.file.bytes + chunkBytes + bytes > limits.maxBytes);
        if (overflows) {
          await flush();
          into = await target(kind, type, bytes);
        }
        chunk.push(line);
        chunkBytes += bytes;
      }
      await flush();
    },
    async sync() {
      for (const { handle } of current.values()) await handle.sync();
    },
    close: closeAll,
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
