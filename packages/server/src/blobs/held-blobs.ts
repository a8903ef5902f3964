/**
 * What one request sealed, held until its answer is made: the sealed blobs whose rows the store
 * recorder inserts with the versions that refer to them, and their plaintext, so that the
 * signature check before COMMIT and the answer to the write itself (Prefer: return=representation)
 * show the content as written without reading it back. The scope is the handling of one request by
 * the core (`runHoldingBlobs`, around `FhirCore.handle`): found through AsyncLocalStorage, as the
 * write transaction is (fhir/write-hooks.ts), it ends with the request and two requests never
 * share it, whatever context object they carry.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SealedBlob } from './blob-store.ts';

export interface HeldBlobs {
  readonly sealed: Map<string, SealedBlob>;
  readonly plaintext: Map<string, Uint8Array>;
}

const scope = new AsyncLocalStorage<HeldBlobs>();

export function runHoldingBlobs<T>(work: () => Promise<T>): Promise<T> {
  return scope.run({ sealed: new Map(), plaintext: new Map() }, work);
}

/** The current request's held blobs; `undefined` outside `runHoldingBlobs`. */
export function heldBlobs(): HeldBlobs | undefined {
  return scope.getStore();
}
