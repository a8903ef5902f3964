/**
 * The trust anchors (root CA certificates) that signing certificates must chain to, and the
 * certificate revocation lists (RFC 5280 section 5) of the CAs below them, read from the files
 * `CONCORDIA_SIGNATURE_TRUST_ANCHORS` and `CONCORDIA_SIGNATURE_CRLS` name. They are read when the
 * server starts: a new CRL takes effect on the next start (docs/security.md).
 */
import { readFile } from 'node:fs/promises';
import { X509Certificate, X509Crl } from './x509.ts';

export interface TrustStore {
  anchors: readonly X509Certificate[];
  crls: readonly X509Crl[];
}

export const EMPTY_TRUST_STORE: TrustStore = { anchors: [], crls: [] };

export async function loadTrustStore(
  anchorFiles: readonly string[],
  crlFiles: readonly string[],
): Promise<TrustStore> {
  const anchors: X509Certificate[] = [];
  for (const file of anchorFiles) anchors.push(...parseCertificates(await readFile(file, 'utf8')));
  const crls: X509Crl[] = [];
  for (const file of crlFiles) crls.push(...parseCrls(await readFile(file)));
  return { anchors, crls };
}

/** Every certificate of a PEM bundle, in order. */
export function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** The CRLs of a file: PEM blocks, or one DER CRL. */
export function parseCrls(bytes: Buffer): X509Crl[] {
  const text = bytes.toString('latin1');
  if (!text.includes('-----BEGIN X509 CRL-----')) return [new X509Crl(new Uint8Array(bytes))];
  const blocks = text.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? [];
  return blocks.map((block) => new X509Crl(block));
}
