/**
 * A throw-away PKI generated in the test itself (no private key is ever committed): a root CA,
 * an intermediate CA under it, leaf signing certificates (ES256 or RS256) for clinicians, CRLs,
 * and a stranger CA that no trust store names. Built with @peculiar/x509 on Node's WebCrypto.
 */
import { webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  type X509Certificate,
  X509CertificateGenerator,
  X509CrlGenerator,
} from '../../src/signatures/x509.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface Authority {
  certificate: X509Certificate;
  keys: CryptoKeyPair;
}

export interface SigningIdentity {
  certificate: X509Certificate;
  privateKey: CryptoKey;
  alg: 'ES256' | 'RS256';
}

const DAY = 86_400_000;
let serial = 100;

function nextSerial(): string {
  serial += 1;
  return serial.toString(16).padStart(4, '0');
}

export async function rootAuthority(name = 'CN=Concordia Test Root CA'): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const certificate = await X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name,
    notBefore: new Date(Date.now() - 365 * DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new BasicConstraintsExtension(true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ],
  });
  return { certificate, keys };
}

export async function intermediateAuthority(
  root: Authority,
  name = 'CN=Concordia Test Issuing CA',
): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const certificate = await X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: name,
    issuer: root.certificate.subject,
    notBefore: new Date(Date.now() - 300 * DAY),
    notAfter: new Date(Date.now() + 1000 * DAY),
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ],
  });
  return { certificate, keys };
}

export async function signingIdentity(
  issuer: Authority,
  options: { name: string; alg?: 'ES256' | 'RS256'; notBefore?: Date; notAfter?: Date },
): Promise<SigningIdentity> {
  const alg = options.alg ?? 'ES256';
  const keys = await webcrypto.subtle.generateKey(alg === 'ES256' ? EC : RSA, true, ['sign', 'verify']);
  const certificate = await X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: options.name,
    issuer: issuer.certificate.subject,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation, true),
    ],
  });
  return { certificate, privateKey: keys.privateKey, alg };
}

/** A CRL of `issuer` listing `revoked` certificates, PEM. */
export async function revocationList(
  issuer: Authority,
  revoked: readonly X509Certificate[],
): Promise<string> {
  const crl = await X509CrlGenerator.create({
    issuer: issuer.certificate.subject,
    thisUpdate: new Date(Date.now() - DAY),
    nextUpdate: new Date(Date.now() + 7 * DAY),
    signingAlgorithm: EC,
    signingKey: issuer.keys.privateKey,
    entries: revoked.map((certificate) => ({
      serialNumber: certificate.serialNumber,
      revocationDate: new Date(Date.now() - 60_000),
    })),
  });
  return crl.toString('pem');
}

export { DAY };
