/**
 * The node's access-log spool: an append-only file in which every access-log row is written before
 * its request is answered (`CONCORDIA_AUDIT_READS=spooled`). The rows handed over during one turn
 * of the event loop are written together, with one `write(2)` when the turn ends: under load a
 * system call per request cost more than the rest of its audit (docs/audit-and-ledger.md), and a
 * request waits at most for the end of the turn it was answered in. The sink then
 * commits rows to the database in batches without the request waiting for that round trip; should
 * the process die first, the rows are still in the file, and the next start of a node on the same
 * database stores whatever the database does not hold yet (spool-recovery.ts). Each batch records
 * which lines of which spool it carried (`audit_access_batch.spool`, `spool_lines`, migration
 * 0014), so recovery neither loses nor repeats a row.
 *
 * A spool file is `<dir>/<pid>-<uuid>.spool`, one JSON row per line (line number = its sequence
 * from 0). Lines live in the page cache until the kernel writes them: they survive a crash of the
 * process, not a power cut in the few milliseconds before their batch commits (docs/audit-and-
 * ledger.md, "When a read is answered"). A file is deleted once every line is committed and a newer
 * file has taken over; files rotate at `maxFileBytes`.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessRow } from './access-log.ts';

/** Where a row was spooled: the file's id and the row's line in it. */
export interface SpoolMark {
  spool: string;
  line: number;
}

/** A row handed to the spool: where it goes, and when it is on file. */
export interface SpooledRow {
  mark: SpoolMark;
  /** Resolves once the row is written; rejects when the file could not be (the request fails). */
  written: Promise<void>;
}

export interface AccessSpool {
  /** Queues a row (its JSON, access-log.ts `encodeAccessRow`) for this turn's write; says where it goes. */
  append(rowJson: string): SpooledRow;
  /** Told once the rows at `marks` are committed: a file whose lines all are may be deleted. */
  committed(marks: readonly SpoolMark[]): void;
  /** Closes the current file, deleting it when every line is committed. */
  close(): void;
}

const SPOOL_SUFFIX = '.spool';
const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

/** Spool ids this process has open: recovery never replays a live spool of its own process. */
const openHere = new Set<string>();

/** The lines of one turn, written together, and the requests that wait for them. */
interface PendingWrite {
  file: SpoolFile;
  text: string;
  rows: number;
  written: Promise<void>;
  settle(error?: unknown): void;
}

interface SpoolFile {
  id: string;
  path: string;
  fd: number;
  lines: number;
  bytes: number;
  uncommitted: number;
  current: boolean;
}

export function openAccessSpool(dir: string, options: { maxFileBytes?: number } = {}): AccessSpool {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, SpoolFile>();
  let current = startFile();
  let pending: PendingWrite | undefined;

  function startFile(): SpoolFile {
    const id = `${process.pid}-${randomUUID()}`;
    const path = join(dir, `${id}${SPOOL_SUFFIX}`);
    const file: SpoolFile = {
      id,
      path,
      fd: openSync(path, 'a'),
      lines: 0,
      bytes: 0,
      uncommitted: 0,
      current: true,
    };
    files.set(id, file);
    openHere.add(id);
    return file;
  }

  function retireIfDone(file: SpoolFile): void {
    if (file.current || file.uncommitted > 0) return;
    closeSync(file.fd);
    rmSync(file.path, { force: true });
    files.delete(file.id);
    openHere.delete(file.id);
  }

  /**
   * Writes the turn's lines. A failed or short write refuses every request of the turn and moves
   * on to a new file: a torn line must stay the last line of its file, which recovery skips.
   */
  function writePending(): void {
    const write = pending;
    pending = undefined;
    if (write === undefined) return;
    const { file } = write;
    let error: unknown;
    try {
      const bytes = Buffer.from(write.text);
      const written = writeSync(file.fd, bytes);
      if (written !== bytes.length) throw new Error(`audit spool ${file.path}: short write`);
      file.bytes += written;
    } catch (failure) {
      error = failure;
      file.uncommitted -= write.rows;
      if (file === current) {
        file.current = false;
        current = startFile();
      }
      retireIfDone(file);
    }
    write.settle(error);
  }

  return {
    append(rowJson) {
      if (current.bytes >= maxFileBytes && pending === undefined) {
        const full = current;
        full.current = false;
        current = startFile();
        retireIfDone(full);
      }
      if (pending === undefined) {
        let settle: (error?: unknown) => void = () => {};
        const written = new Promise<void>((resolve, reject) => {
          settle = (error) => (error === undefined ? resolve() : reject(error));
        });
        pending = { file: current, text: '', rows: 0, written, settle };
        setImmediate(writePending);
      }
      pending.text += `${rowJson}\n`;
      pending.rows += 1;
      current.uncommitted += 1;
      const mark = { spool: current.id, line: current.lines };
      current.lines += 1;
      return { mark, written: pending.written };
    },
    committed(marks) {
      for (const mark of marks) {
        const file = files.get(mark.spool);
        if (file === undefined) continue;
        file.uncommitted -= 1;
      }
      for (const file of [...files.values()]) retireIfDone(file);
    },
    close() {
      writePending();
      current.current = false;
      for (const file of [...files.values()]) {
        if (file.uncommitted > 0) {
          // Rows the database never got stay in the file for the next start to store.
          closeSync(file.fd);
          files.delete(file.id);
          openHere.delete(file.id);
        } else retireIfDone(file);
      }
    },
  };
}

/** A spool file left by a process that is gone: its id and every complete row, by line. */
export interface LeftSpool {
  id: string;
  path: string;
  rows: AccessRow[];
}

/**
 * The spool files in `dir` that no live process writes: another process's file whose pid is gone,
 * never one this process opened. A torn last line (the process died mid-write) is skipped; such a
 * row's request was never answered.
 */
export function leftSpools(dir: string): LeftSpool[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const left: LeftSpool[] = [];
  for (const name of names.filter((entry) => entry.endsWith(SPOOL_SUFFIX)).sort()) {
    const id = name.slice(0, -SPOOL_SUFFIX.length);
    if (openHere.has(id) || processIsAlive(Number(id.split('-')[0]))) continue;
    const path = join(dir, name);
    left.push({ id, path, rows: completeRows(readFileSync(path, 'utf8')) });
  }
  return left;
}

function completeRows(text: string): AccessRow[] {
  const lines = text.split('\n');
  // The text after the last newline is a line whose write did not finish.
  lines.pop();
  return lines.map((line) => JSON.parse(line) as AccessRow);
}

function processIsAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  // Not one this process opened (checked first), so an earlier process with the same pid wrote it:
  // in a container the server is often pid 1 on every start.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
