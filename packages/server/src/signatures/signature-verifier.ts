/**
 * Verifies one `Provenance.signature` (http://hl7.org/fhir/R4/datatypes.html#Signature) over the
 * signed content of its target (signed-content.ts). The checks, each a named failure the client
 * sees in the OperationOutcome:
 * - `malformed`: not `sigFormat` application/jose, `data` not a detached JWS, no `when` or `who`;
 * - `expired`, `untrusted`, `revoked`: the certificate at `signature.when` (certificate-chain.ts);
 * - `wrong-signer`: the certificate is not registered to the Practitioner `signature.who` names;
 * - `altered`: the signature does not verify over the content as stored;
 * - `stale`: at write time only, `signature.when` lies in the future or further back than allowed.
 */
import { createHash } from 'node:crypto';
import { isRecord } from '@concordia/fhir';
import { validateChain } from './certificate-chain.ts';
import type { CertificateRegistry, RegisteredCertificate } from './certificate-registry.ts';
import {
  MalformedJwsError,
  type ParsedDetachedJws,
  parseDetachedJws,
  verifyDetached,
} from './detached-jws.ts';
import { parseCertificates, type TrustStore } from './trust-store.ts';
import { X509Certificate } from './x509.ts';

export const JOSE_SIGNATURE_FORMAT = 'application/jose';

export type SignatureCheck =
  | 'malformed'
  | 'expired'
  | 'untrusted'
  | 'revoked'
  | 'wrong-signer'
  | 'altered'
  | 'stale';

export type SignatureVerdict =
  | { valid: true; practitionerId: string; thumbprint: string; when: string }
  | { valid: false; check: SignatureCheck; diagnostics: string };

export interface SignatureVerifier {
  /**
   * `writtenAt`: the signature arrives with a write now, so `when` must be recent; absent when a
   * stored signature is verified again later.
   */
  verify(signature: unknown, content: Uint8Array, writtenAt?: Date): Promise<SignatureVerdict>;
}

/** Clocks of clients and server may disagree by this much. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export function signatureVerifier(options: {
  registry: CertificateRegistry;
  trust: TrustStore;
  /** How far back `signature.when` may lie when a write arrives. */
  maxAgeSeconds: number;
}): SignatureVerifier {
  const { registry, trust, maxAgeSeconds } = options;
  return {
    async verify(signature, content, writtenAt) {
      const parsed = parseSignature(signature);
      if ('check' in parsed) return parsed;
      const { jws, when, practitionerId } = parsed;
      if (writtenAt !== undefined) {
        const age = writtenAt.getTime() - when.getTime();
        if (age < -CLOCK_SKEW_MS || age > maxAgeSeconds * 1000) {
          return failure(
            'stale',
            `signature.when ${when.toISOString()} is not within ${maxAgeSeconds} s before the write`,
          );
        }
      }
      const certificates = certificatesOf(jws, registry);
      if ('check' in certificates) return certificates;
      const { leaf, intermediates, thumbprint } = certificates;
      const chain = await validateChain(leaf, intermediates, trust, when);
      if (!chain.ok) return failure(chain.check, chain.diagnostics);
      const registration = registry.find(thumbprint);
      const signer = signerFailure(registration, practitionerId, thumbprint);
      if (signer !== undefined) return signer;
      if (!(await verifyDetached(jws, content, leaf.toString('pem')))) {
        return failure(
          'altered',
          'the signature does not verify over the canonical form of the resource as stored',
        );
      }
      return { valid: true, practitionerId, thumbprint, when: when.toISOString() };
    },
  };
}

function failure(check: SignatureCheck, diagnostics: string): SignatureVerdict {
  return { valid: false, check, diagnostics };
}

type ParsedSignature = { jws: ParsedDetachedJws; when: Date; practitionerId: string };

function parseSignature(signature: unknown): ParsedSignature | (SignatureVerdict & { valid: false }) {
  if (!isRecord(signature))
    return { valid: false, check: 'malformed', diagnostics: 'the signature is not an object' };
  if (signature.sigFormat !== JOSE_SIGNATURE_FORMAT) {
    return {
      valid: false,
      check: 'malformed',
      diagnostics: `signature.sigFormat must be ${JOSE_SIGNATURE_FORMAT}`,
    };
  }
  if (typeof signature.data !== 'string') {
    return {
      valid: false,
      check: 'malformed',
      diagnostics: 'signature.data must hold the base64 of the JWS',
    };
  }
  const when = typeof signature.when === 'string' ? new Date(signature.when) : undefined;
  if (when === undefined || Number.isNaN(when.getTime())) {
    return { valid: false, check: 'malformed', diagnostics: 'signature.when must be the instant of signing' };
  }
  const who = isRecord(signature.who) ? signature.who.reference : undefined;
  const practitionerId =
    typeof who === 'string' ? /(?:^|\/)Practitioner\/([A-Za-z0-9\-.]{1,64})$/.exec(who)?.[1] : undefined;
  if (practitionerId === undefined) {
    return {
      valid: false,
      check: 'malformed',
      diagnostics: 'signature.who must reference the signing Practitioner',
    };
  }
  try {
    const jws = parseDetachedJws(Buffer.from(signature.data, 'base64').toString('latin1'));
    return { jws, when, practitionerId };
  } catch (error) {
    if (!(error instanceof MalformedJwsError)) throw error;
    return { valid: false, check: 'malformed', diagnostics: error.message };
  }
}

type Certificates = { leaf: X509Certificate; intermediates: X509Certificate[]; thumbprint: string };

function certificatesOf(
  jws: ParsedDetachedJws,
  registry: CertificateRegistry,
): Certificates | (SignatureVerdict & { valid: false }) {
  const { x5c, kid } = jws.header;
  try {
    if (x5c !== undefined) {
      const [leaf, ...intermediates] = x5c.map((der) => new X509Certificate(Buffer.from(der, 'base64')));
      if (leaf === undefined) throw new Error('empty x5c');
      return { leaf, intermediates, thumbprint: certificateThumbprint(leaf) };
    }
    const registration = kid === undefined ? undefined : registry.find(kid);
    if (registration === undefined) {
      return {
        valid: false,
        check: 'wrong-signer',
        diagnostics: `no certificate is registered with kid ${kid ?? ''}`,
      };
    }
    return {
      leaf: new X509Certificate(registration.certificatePem),
      intermediates: parseCertificates(registration.chainPem),
      thumbprint: registration.thumbprint,
    };
  } catch {
    return {
      valid: false,
      check: 'malformed',
      diagnostics: 'the JWS x5c header holds a certificate that cannot be read',
    };
  }
}

function signerFailure(
  registration: RegisteredCertificate | undefined,
  practitionerId: string,
  thumbprint: string,
): SignatureVerdict | undefined {
  if (registration === undefined) {
    return failure(
      'wrong-signer',
      `the signing certificate (kid ${thumbprint}) is not registered to any Practitioner`,
    );
  }
  if (registration.practitionerId !== practitionerId) {
    return failure(
      'wrong-signer',
      `the signing certificate is registered to Practitioner/${registration.practitionerId}, not to Practitioner/${practitionerId} named by signature.who`,
    );
  }
  if (registration.revokedAt !== undefined) {
    return failure(
      'revoked',
      `the registration of the signing certificate was revoked on ${registration.revokedAt}`,
    );
  }
  return undefined;
}

/** Base64url SHA-256 of the DER certificate (RFC 7515 `x5t#S256`), the `kid` of a registered certificate. */
export function certificateThumbprint(certificate: X509Certificate): string {
  return createHash('sha256').update(new Uint8Array(certificate.rawData)).digest('base64url');
}
