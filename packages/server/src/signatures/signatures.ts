/**
 * Clinicians' signatures assembled from the configuration (DESIGN.md D9): the trust store, the
 * certificate registry, the verifier, the write hook that enforces the policy, and the operations
 * `$register-certificate` and `$verify-signature`. main.ts wires the parts into the core.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { FhirOperation } from '../fhir/operations.ts';
import type { WriteHook } from '../fhir/write-hooks.ts';
import type { Database } from '../store/database.ts';
import { type CertificateRegistry, createCertificateRegistry } from './certificate-registry.ts';
import { registerCertificateOperation } from './register-certificate-operation.ts';
import { type SignaturePolicy, signaturePolicyHook } from './signature-policy.ts';
import { signatureVerifier } from './signature-verifier.ts';
import { loadTrustStore, type TrustStore } from './trust-store.ts';
import { verifySignatureOperation } from './verify-signature-operation.ts';

export const DEFAULT_SIGNATURE_MAX_AGE_SECONDS = 86_400;

export interface Signatures {
  registry: CertificateRegistry;
  trust: TrustStore;
  writeHook: WriteHook;
  operations: FhirOperation[];
}

export async function createSignatures(
  database: Database,
  config: Config,
  logger: Logger,
  /** See `SignaturePolicy.asWritten`. */
  asWritten?: SignaturePolicy['asWritten'],
): Promise<Signatures> {
  const trust = await loadTrustStore(config.signatureTrustAnchorFiles ?? [], config.signatureCrlFiles ?? []);
  const requiredTypes = config.signatureRequiredTypes ?? [];
  if (requiredTypes.length > 0 && trust.anchors.length === 0) {
    logger.warn(
      { requiredTypes },
      'signatures are required but no trust anchor is configured (CONCORDIA_SIGNATURE_TRUST_ANCHORS): every signed write will be refused',
    );
  }
  const registry = await createCertificateRegistry(database, {
    onRefreshError: (error) => logger.warn({ err: error }, 'reloading the signing certificates failed'),
  });
  const verifier = signatureVerifier({
    registry,
    trust,
    maxAgeSeconds: config.signatureMaxAgeSeconds ?? DEFAULT_SIGNATURE_MAX_AGE_SECONDS,
  });
  return {
    registry,
    trust,
    writeHook: signaturePolicyHook({
      requiredTypes,
      verifier,
      ...(asWritten !== undefined ? { asWritten } : {}),
    }),
    operations: [registerCertificateOperation(registry, trust), verifySignatureOperation(verifier)],
  };
}
