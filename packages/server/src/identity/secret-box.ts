/**
 * Secrets at rest (token signing keys, TOTP secrets) are sealed with AES-256-GCM under the
 * identity key: `CONCORDIA_IDENTITY_KEY` when set (production: from a secret store), otherwise a
 * key generated on first start into `<data dir>/identity.key` (mode 0600) — convenient for a demo
 * or a single node, and the reason a stolen database dump alone does not yield the keys.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const VERSION = 'v1';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('The identity key must be 32 bytes');
    this.#key = key;
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  open(sealed: string): string {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error('Not a sealed secret');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }

  /** A key derived for one purpose (cookie signing, CSRF tokens), stable across restarts and nodes. */
  derive(purpose: string): Buffer {
    return createHmac('sha256', this.#key).update(`concordia:${purpose}`).digest();
  }
}

export type IdentityKeySource =
  | { kind: 'configured' }
  | { kind: 'generated'; path: string }
  | { kind: 'file'; path: string };

/** The configured identity key, or the one in `<dataDir>/identity.key` (created when missing). */
export async function loadIdentityKey(
  configured: string | undefined,
  dataDir: string,
): Promise<{ box: SecretBox; source: IdentityKeySource }> {
  if (configured !== undefined) {
    return { box: new SecretBox(Buffer.from(configured, 'base64')), source: { kind: 'configured' } };
  }
  const path = join(dataDir, 'identity.key');
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return { box: new SecretBox(Buffer.from(text, 'base64')), source: { kind: 'file', path } };
  } catch (error) {
    if (!isMissingFile(error)) throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  // `wx`: two processes starting together must not both write a key.
  await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' }).catch(
    async (error: unknown) => {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
    },
  );
  const stored = (await readFile(path, 'utf8')).trim();
  return { box: new SecretBox(Buffer.from(stored, 'base64')), source: { kind: 'generated', path } };
}

function isMissingFile(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}
