/**
 * Registering a Practitioner's signing certificate: the PEM chain (leaf first, then the
 * intermediates) must carry an ES256 (P-256) or RS256 (RSA ≥ 2048 bits) key, chain to a
 * configured trust anchor now, and not be revoked. The `$register-certificate` operation and
 * `concordia certificates add` both come here.
 */
import { fhirError } from '@concordia/fhir';
import { validateChain } from './certificate-chain.ts';
import type { CertificateRegistry, RegisteredCertificate } from './certificate-registry.ts';
import { certificateThumbprint } from './signature-verifier.ts';
import { parseCertificates, type TrustStore } from './trust-store.ts';
import type { X509Certificate } from './x509.ts';

export async function registerCertificate(
  registry: CertificateRegistry,
  trust: TrustStore,
  practitionerId: string,
  pemChain: string,
): Promise<RegisteredCertificate> {
  const certificates = readChain(pemChain);
  const [leaf, ...intermediates] = certificates;
  if (leaf === undefined) {
    throw fhirError('invalid', 'required', 'No PEM certificate given (-----BEGIN CERTIFICATE-----)', [
      'certificate',
    ]);
  }
  assertSigningKey(leaf);
  const chain = await validateChain(leaf, intermediates, trust, new Date());
  if (!chain.ok) {
    throw fhirError(
      'unprocessable',
      'security',
      `The certificate cannot be registered (${chain.check}): ${chain.diagnostics}`,
      ['certificate'],
    );
  }
  const thumbprint = certificateThumbprint(leaf);
  const existing = registry.find(thumbprint);
  if (existing !== undefined && existing.practitionerId !== practitionerId) {
    throw fhirError(
      'conflict',
      'conflict',
      `This certificate is already registered to Practitioner/${existing.practitionerId}`,
      ['certificate'],
    );
  }
  if (existing === undefined) {
    await registry.insert({
      thumbprint,
      practitionerId,
      certificatePem: leaf.toString('pem'),
      chainPem: intermediates.map((certificate) => certificate.toString('pem')).join('\n'),
      subject: leaf.subject,
      serialNumber: leaf.serialNumber,
      notBefore: leaf.notBefore.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
    });
  }
  const registered = registry.find(thumbprint);
  if (registered === undefined) throw new Error(`certificate ${thumbprint} vanished after its registration`);
  return registered;
}

function readChain(pemChain: string): X509Certificate[] {
  try {
    return parseCertificates(pemChain);
  } catch {
    throw fhirError('invalid', 'invalid', 'The certificate is not a readable PEM X.509 certificate', [
      'certificate',
    ]);
  }
}

function assertSigningKey(leaf: X509Certificate): void {
  const algorithm = leaf.publicKey.algorithm;
  const curve = 'namedCurve' in algorithm ? algorithm.namedCurve : undefined;
  const modulusLength = 'modulusLength' in algorithm ? algorithm.modulusLength : undefined;
  const es256 = algorithm.name === 'ECDSA' && curve === 'P-256';
  const rs256 =
    algorithm.name.startsWith('RSA') && typeof modulusLength === 'number' && modulusLength >= 2048;
  if (!es256 && !rs256) {
    throw fhirError(
      'unprocessable',
      'security',
      'A signing certificate must hold an EC P-256 (ES256) or RSA ≥ 2048-bit (RS256) key',
      ['certificate'],
    );
  }
}
