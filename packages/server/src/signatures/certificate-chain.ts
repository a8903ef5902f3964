/**
 * Certification path validation for signing certificates, reduced to what a signature needs
 * (RFC 5280 section 6, without policy and name constraints): from the leaf up, each certificate
 * is valid at the signing time, its signature verifies with its issuer's key, every issuer is a
 * CA, no certificate is on its issuer's CRL, and the path ends at a configured trust anchor.
 */

import type { TrustStore } from './trust-store.ts';
import { BasicConstraintsExtension, type X509Certificate } from './x509.ts';

export type ChainFailure = { ok: false; check: 'expired' | 'untrusted' | 'revoked'; diagnostics: string };
export type ChainResult = { ok: true; path: X509Certificate[] } | ChainFailure;

const MAX_PATH_LENGTH = 8;

export async function validateChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  trust: TrustStore,
  at: Date,
): Promise<ChainResult> {
  const path: X509Certificate[] = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_PATH_LENGTH; depth += 1) {
    const expired = validityFailure(current, at);
    if (expired !== undefined) return expired;
    const anchor = await findIssuer(current, trust.anchors);
    const issuer = anchor ?? (await findIssuer(current, intermediates.filter(isCertificateAuthority)));
    if (issuer === undefined) {
      return {
        ok: false,
        check: 'untrusted',
        diagnostics: `no configured trust anchor or CA certificate in the chain issued "${current.subject}" (issuer "${current.issuer}")`,
      };
    }
    const revoked = await revocationFailure(current, issuer, trust);
    if (revoked !== undefined) return revoked;
    if (anchor !== undefined) {
      const anchorExpired = validityFailure(anchor, at);
      return anchorExpired ?? { ok: true, path: [...path, anchor] };
    }
    path.push(issuer);
    current = issuer;
  }
  return {
    ok: false,
    check: 'untrusted',
    diagnostics: `the certificate chain is longer than ${MAX_PATH_LENGTH}`,
  };
}

function validityFailure(certificate: X509Certificate, at: Date): ChainFailure | undefined {
  if (at >= certificate.notBefore && at <= certificate.notAfter) return undefined;
  return {
    ok: false,
    check: 'expired',
    diagnostics: `the certificate "${certificate.subject}" is valid from ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}, not at the signing time ${at.toISOString()}`,
  };
}

async function findIssuer(
  certificate: X509Certificate,
  candidates: readonly X509Certificate[],
): Promise<X509Certificate | undefined> {
  for (const candidate of candidates) {
    if (candidate.subject !== certificate.issuer) continue;
    if (await certificate.verify({ publicKey: candidate, signatureOnly: true })) return candidate;
  }
  return undefined;
}

function isCertificateAuthority(certificate: X509Certificate): boolean {
  return certificate.getExtension(BasicConstraintsExtension)?.ca === true;
}

/** A certificate listed on a CRL that its issuer signed is revoked, whenever the CRL says it was. */
async function revocationFailure(
  certificate: X509Certificate,
  issuer: X509Certificate,
  trust: TrustStore,
): Promise<ChainFailure | undefined> {
  for (const crl of trust.crls) {
    if (crl.issuer !== issuer.subject) continue;
    const entry = crl.findRevoked(certificate);
    if (entry === null) continue;
    if (!(await crl.verify({ publicKey: issuer }))) continue;
    return {
      ok: false,
      check: 'revoked',
      diagnostics: `the certificate "${certificate.subject}" (serial ${certificate.serialNumber}) was revoked on ${entry.revocationDate.toISOString()}`,
    };
  }
  return undefined;
}
