/**
 * Envelope encryption (DESIGN.md D13): every blob has its own random data key, and only the data
 * key wrapped by a master key is stored. A `KeyProvider` holds the master keys — in this process
 * (master-key-ring.ts, keys from a file or the environment) or in a KMS that wraps and unwraps on
 * request (an implementation of this interface) — so master keys never sit beside the data.
 */
export interface WrappedKey {
  /** Which master key wrapped it. */
  keyId: string;
  wrapped: Uint8Array;
}

export interface KeyProvider {
  /** The master key new data keys are wrapped with. */
  readonly currentKeyId: string;
  /** Whether `keyId` can still be unwrapped (a rotation keeps the old key until it completes). */
  has(keyId: string): boolean;
  wrap(dataKey: Uint8Array): Promise<WrappedKey>;
  /** @throws when the master key is unknown or the wrapped key was altered. */
  unwrap(key: WrappedKey): Promise<Uint8Array>;
}
