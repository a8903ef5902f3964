/**
 * A self-signed server certificate made in the test (no private key is ever committed), for
 * `localhost` and 127.0.0.1, with @peculiar/x509 on Node's WebCrypto.
 */
// The polyfill @peculiar/x509's dependency injection needs, before the library loads.
import 'reflect-metadata';
import { KeyObject, webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import type { Authority } from '../signatures/test-pki.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
let serial = 1;

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 fingerprint as Node's `getPeerCertificate().fingerprint256` prints it. */
  fingerprint256: string;
}

export async function selfSignedCertificate(commonName = 'localhost'): Promise<ServerCertificate> {
  return serverCertificate(commonName);
}

/** A server certificate for `localhost` and 127.0.0.1, issued by `issuer` (self-signed without one). */
export async function serverCertificate(
  commonName = 'localhost',
  issuer?: Authority,
): Promise<ServerCertificate> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  serial += 1;
  const extensions = [
    new BasicConstraintsExtension(false, undefined, true),
    new ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1']),
    new SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
  ];
  const validity = { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + DAY) };
  const serialNumber = serial.toString(16).padStart(4, '0');
  const certificate =
    issuer === undefined
      ? await X509CertificateGenerator.createSelfSigned({
          serialNumber,
          name: `CN=${commonName}`,
          ...validity,
          keys,
          signingAlgorithm: EC,
          extensions,
        })
      : await X509CertificateGenerator.create({
          serialNumber,
          subject: `CN=${commonName}`,
          issuer: issuer.certificate.subject,
          ...validity,
          publicKey: keys.publicKey,
          signingKey: issuer.keys.privateKey,
          signingAlgorithm: EC,
          extensions,
        });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  const thumbprint = Buffer.from(await certificate.getThumbprint('SHA-256'));
  return {
    certPem: certificate.toString('pem'),
    keyPem,
    fingerprint256: [...thumbprint].map((byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(':'),
  };
}
