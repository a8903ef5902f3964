/**
 * @peculiar/x509 (X.509 certificates and CRLs on WebCrypto) behind one import: its dependency
 * injection container (tsyringe) needs the `Reflect.getMetadata` polyfill loaded first.
 */
import 'reflect-metadata';

export {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate,
  X509CertificateGenerator,
  X509Crl,
  X509CrlGenerator,
} from '@peculiar/x509';
