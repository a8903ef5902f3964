/**
 * JWS with detached content (RFC 7515 Appendix F): the compact serialisation with the payload
 * part left empty (`header..signature`); the payload is the signed content the verifier already
 * holds (signed-content.ts). Only ES256 and RS256 (DESIGN.md D9); the certificate travels in the
 * protected header as `x5c` (RFC 7515 4.1.6, leaf first, standard base64 DER) or is named by
 * `kid`, the base64url SHA-256 thumbprint of a certificate registered with the server.
 */
import { CompactSign, type CryptoKey, compactVerify, decodeProtectedHeader, importX509 } from 'jose';

export const JWS_ALGORITHMS = ['ES256', 'RS256'] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

export interface DetachedJwsHeader {
  alg: JwsAlgorithm;
  x5c?: string[];
  kid?: string;
}

export interface ParsedDetachedJws {
  header: DetachedJwsHeader;
  compact: string;
}

/** Why a JWS could not be read; the message is meant for the client's OperationOutcome. */
export class MalformedJwsError extends Error {}

export function parseDetachedJws(compact: string): ParsedDetachedJws {
  const parts = compact.split('.');
  if (parts.length !== 3 || parts[1] !== '' || parts[0] === '' || parts[2] === '') {
    throw new MalformedJwsError(
      'the signature is not a compact JWS with detached content (header..signature)',
    );
  }
  let raw: Record<string, unknown>;
  try {
    raw = decodeProtectedHeader(compact);
  } catch {
    throw new MalformedJwsError('the JWS protected header is not base64url JSON');
  }
  const alg = JWS_ALGORITHMS.find((candidate) => candidate === raw.alg);
  if (alg === undefined) {
    throw new MalformedJwsError(`the JWS algorithm must be ES256 or RS256, not ${String(raw.alg)}`);
  }
  const header: DetachedJwsHeader = { alg };
  if (raw.x5c !== undefined) {
    if (
      !Array.isArray(raw.x5c) ||
      raw.x5c.length === 0 ||
      !raw.x5c.every((item) => typeof item === 'string')
    ) {
      throw new MalformedJwsError('the JWS x5c header must be a non-empty array of base64 certificates');
    }
    header.x5c = raw.x5c;
  }
  if (typeof raw.kid === 'string') header.kid = raw.kid;
  if (header.x5c === undefined && header.kid === undefined) {
    throw new MalformedJwsError(
      'the JWS header names no certificate: send x5c or the kid of a registered one',
    );
  }
  // `crit` parameters this verifier does not understand must fail the signature (RFC 7515 4.1.11).
  if (raw.crit !== undefined) throw new MalformedJwsError('the JWS crit header is not supported');
  return { header, compact };
}

/** Signs `content` and returns the detached compact JWS: what a client puts in `Provenance.signature.data`. */
export async function signDetached(
  content: Uint8Array,
  privateKey: CryptoKey,
  header: DetachedJwsHeader,
): Promise<string> {
  const attached = await new CompactSign(content).setProtectedHeader({ ...header }).sign(privateKey);
  const [protectedPart, , signaturePart] = attached.split('.');
  return `${protectedPart}..${signaturePart}`;
}

/** Whether the JWS signs exactly `content` with the key of the PEM certificate. */
export async function verifyDetached(
  jws: ParsedDetachedJws,
  content: Uint8Array,
  certificatePem: string,
): Promise<boolean> {
  const [protectedPart, , signaturePart] = jws.compact.split('.');
  const attached = `${protectedPart}.${Buffer.from(content).toString('base64url')}.${signaturePart}`;
  try {
    // A key that does not fit `alg` (an RSA certificate under ES256) is a signature that fails.
    const key = await importX509(certificatePem, jws.header.alg);
    await compactVerify(attached, key, { algorithms: [jws.header.alg] });
    return true;
  } catch {
    return false;
  }
}
