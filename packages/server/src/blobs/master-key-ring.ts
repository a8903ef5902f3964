/**
 * A `KeyProvider` over master keys held in this process: the current key wraps new data keys,
 * older keys only unwrap (until `concordia keys rotate-master` has moved every data key off
 * them). A master key's id is derived from the key (the first 16 hex digits of its SHA-256), so
 * the same key has the same id wherever it is configured and the id reveals nothing of the key.
 *
 * Keys come from the environment (`CONCORDIA_MASTER_KEY`, `CONCORDIA_MASTER_KEY_PREVIOUS`) or
 * from a directory of key files (master-key-files.ts).
 */
import { createHash } from 'node:crypto';
import { KEY_BYTES, newKey, open, seal } from './aes-gcm.ts';
import type { KeyProvider, WrappedKey } from './key-provider.ts';

export function masterKeyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function masterKeyRing(current: Uint8Array, previous: readonly Uint8Array[] = []): KeyProvider {
  for (const key of [current, ...previous]) {
    if (key.length !== KEY_BYTES) throw new Error(`a master key must be ${KEY_BYTES} bytes`);
  }
  const keys = new Map([current, ...previous].map((key) => [masterKeyId(key), key]));
  const currentKeyId = masterKeyId(current);
  return {
    currentKeyId,
    has: (keyId) => keys.has(keyId),
    async wrap(dataKey) {
      return { keyId: currentKeyId, wrapped: seal(current, dataKey, wrapContext(currentKeyId)) };
    },
    async unwrap({ keyId, wrapped }: WrappedKey) {
      const key = keys.get(keyId);
      if (key === undefined) throw new Error(`master key ${keyId} is not configured`);
      return open(key, wrapped, wrapContext(keyId));
    },
  };
}

function wrapContext(keyId: string): string {
  return `concordia-data-key:v1:${keyId}`;
}

export { newKey as newMasterKey };
