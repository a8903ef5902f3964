/**
 * Where the encrypted bytes of blobs live: a flat namespace of immutable objects. The filesystem
 * implementation is the default; an S3-compatible bucket (DESIGN.md D13, `@aws-sdk/client-s3`)
 * implements the same calls. Objects are written once and never changed in place, which
 * is what both a filesystem rename and an S3 PUT give atomically.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface BlobObjects {
  put(name: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, `undefined` when there is none. */
  get(name: string): Promise<Buffer | undefined>;
  delete(name: string): Promise<void>;
  /**
   * Every object, in no particular order, with when it was written: `concordia blobs verify` looks
   * for objects no row refers to (verify-blobs.ts). Objects being written are not listed.
   */
  list(): AsyncIterable<StoredObject>;
}

export interface StoredObject {
  name: string;
  modifiedAt: Date;
}

const OBJECT_NAME = /^[0-9a-f]{8,}[0-9a-f.]*$/;

/** Objects as files under `dir`, fanned out by the first four characters of the name. */
export function filesystemBlobObjects(dir: string): BlobObjects {
  const pathOf = (name: string): string => {
    if (!OBJECT_NAME.test(name)) throw new Error(`not a blob object name: ${name}`);
    return join(dir, name.slice(0, 2), name.slice(2, 4), name);
  };
  return {
    async put(name, bytes) {
      const path = pathOf(name);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
      // The version that refers to this object commits right after: the object must be on disk
      // first (its bytes, then its name in the directory), or a power cut could leave a committed
      // record whose content is gone.
      const file = await open(temporary, 'wx', 0o600);
      try {
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
      await syncDirectory(dirname(path));
    },
    async get(name) {
      try {
        return await readFile(pathOf(name));
      } catch (error) {
        if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async delete(name) {
      await rm(pathOf(name), { force: true });
    },
    async *list() {
      // One fan-out directory at a time: memory stays bounded by the largest one, not the store.
      for (const first of await subdirectories(dir)) {
        for (const second of await subdirectories(join(dir, first))) {
          const leaf = join(dir, first, second);
          for (const entry of await readdir(leaf, { withFileTypes: true })) {
            // A temporary file of a write in progress (or of one a crash cut short) is not an object.
            if (!entry.isFile() || !OBJECT_NAME.test(entry.name)) continue;
            const stats = await stat(join(leaf, entry.name)).catch(() => undefined);
            if (stats !== undefined) yield { name: entry.name, modifiedAt: stats.mtime };
          }
        }
      }
    },
  };
}

/** The subdirectories of `dir`, none when it does not exist (no object written yet). */
async function subdirectories(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return [];
    throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
