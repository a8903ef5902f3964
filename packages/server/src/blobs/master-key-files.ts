/**
 * Master keys kept as files (the default when `CONCORDIA_MASTER_KEY` is unset): a directory with
 * one `<id>.key` file per key (base64 of 32 bytes, mode 0600) and a `current` file naming the key
 * that wraps new data keys. The first start creates the directory and a first key. Rotation adds
 * a key and makes it current; the old file is removed only when no data key is wrapped by it.
 * Back the directory up apart from the database: either alone decrypts nothing.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyProvider } from './key-provider.ts';
import { masterKeyId, masterKeyRing, newMasterKey } from './master-key-ring.ts';

const KEY_FILE = /^([0-9a-f]{16})\.key$/;

export async function loadMasterKeyDirectory(dir: string): Promise<KeyProvider> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await readKeys(dir)).size === 0) await addMasterKey(dir);
  const keys = await readKeys(dir);
  const currentId = await readCurrent(dir);
  const current = currentId === undefined ? undefined : keys.get(currentId);
  if (current === undefined)
    throw new Error(`${join(dir, 'current')} does not name one of the keys in ${dir}`);
  return masterKeyRing(
    current,
    [...keys.entries()].filter(([id]) => id !== currentId).map(([, key]) => key),
  );
}

/** Writes a new random master key and makes it current; returns its id. */
export async function addMasterKey(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = newMasterKey();
  const id = masterKeyId(key);
  await writeAtomically(join(dir, `${id}.key`), `${key.toString('base64')}\n`);
  await writeAtomically(join(dir, 'current'), `${id}\n`);
  return id;
}

/** Removes the key files other than the current one whose ids are not in `inUse`; returns their ids. */
export async function removeUnusedMasterKeys(dir: string, inUse: ReadonlySet<string>): Promise<string[]> {
  const current = await readCurrent(dir);
  const removed: string[] = [];
  for (const id of (await readKeys(dir)).keys()) {
    if (id === current || inUse.has(id)) continue;
    await rm(join(dir, `${id}.key`));
    removed.push(id);
  }
  return removed;
}

async function readKeys(dir: string): Promise<Map<string, Buffer>> {
  const keys = new Map<string, Buffer>();
  for (const file of await readdir(dir)) {
    const id = KEY_FILE.exec(file)?.[1];
    if (id === undefined) continue;
    const key = Buffer.from((await readFile(join(dir, file), 'utf8')).trim(), 'base64');
    if (masterKeyId(key) !== id) throw new Error(`${join(dir, file)} does not hold the key its name says`);
    keys.set(id, key);
  }
  return keys;
}

async function readCurrent(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, 'current'), 'utf8')).trim();
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await rename(temporary, path);
}
