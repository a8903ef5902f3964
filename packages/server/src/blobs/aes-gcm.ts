/**
 * AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce per encryption; the 128-bit tag is
 * appended to the ciphertext. The additional authenticated data binds a ciphertext to where it
 * belongs (a blob's hash, a master key's id), so one cannot be swapped for another undetected.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function newKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function encrypt(
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: string,
): { nonce: Buffer; sealed: Buffer } {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { nonce, sealed };
}

/** @throws when the key, nonce, AAD or any byte of `sealed` is not what was encrypted. */
export function decrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: string): Buffer {
  if (sealed.length < TAG_BYTES) throw new Error('the ciphertext is shorter than its authentication tag');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
}

/** Nonce and sealed bytes in one buffer, for small values such as wrapped keys. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: string): Buffer {
  const { nonce, sealed } = encrypt(key, plaintext, aad);
  return Buffer.concat([nonce, sealed]);
}

export function open(key: Uint8Array, box: Uint8Array, aad: string): Buffer {
  return decrypt(key, box.subarray(0, NONCE_BYTES), box.subarray(NONCE_BYTES), aad);
}
