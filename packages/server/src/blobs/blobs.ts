/**
 * The blob store assembled from the configuration: objects under `CONCORDIA_BLOB_DIR` (default
 * `<dataDir>/blobs`), master keys from `CONCORDIA_MASTER_KEY` or the key files in
 * `CONCORDIA_MASTER_KEY_DIR` (default `<dataDir>/master-keys`); blobs under
 * `CONCORDIA_ATTACHMENT_OBJECT_MIN_BYTES` keep their ciphertext in their row.
 */
import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { Database } from '../store/database.ts';
import { filesystemBlobObjects } from './blob-objects.ts';
import { type BlobStore, createBlobStore } from './blob-store.ts';
import type { KeyProvider } from './key-provider.ts';
import { loadMasterKeyDirectory } from './master-key-files.ts';
import { masterKeyRing } from './master-key-ring.ts';

export function blobDirectory(config: Config): string {
  return config.blobDir ?? join(config.dataDir, 'blobs');
}

export function masterKeyDirectory(config: Config): string {
  return config.masterKeyDir ?? join(config.dataDir, 'master-keys');
}

export async function masterKeys(config: Config): Promise<KeyProvider> {
  if (config.masterKey === undefined) return loadMasterKeyDirectory(masterKeyDirectory(config));
  const decode = (key: string): Buffer => Buffer.from(key, 'base64');
  return masterKeyRing(decode(config.masterKey), (config.previousMasterKeys ?? []).map(decode));
}

/**
 * The blob store of the configuration. Master keys are loaded (and, with key files, created) on
 * the first use, so a server that stores no blob never creates any.
 */
export function createConfiguredBlobStore(database: Database, config: Config): BlobStore {
  let store: Promise<BlobStore> | undefined;
  const open = (): Promise<BlobStore> => {
    store ??= masterKeys(config).then((keys) =>
      createBlobStore({
        database,
        objects: filesystemBlobObjects(blobDirectory(config)),
        keys,
        ...(config.attachmentObjectMinBytes !== undefined
          ? { objectMinBytes: config.attachmentObjectMinBytes }
          : {}),
      }),
    );
    return store;
  };
  return {
    put: async (bytes, contentType) => (await open()).put(bytes, contentType),
    seal: async (bytes, contentType) => (await open()).seal(bytes, contentType),
    get: async (hash) => (await open()).get(hash),
    getMany: async (hashes) => (await open()).getMany(hashes),
    info: async (hash) => (await open()).info(hash),
  };
}
