/**
 * The signature rule as a write hook (fhir/write-hooks.ts), checked once before COMMIT with every
 * version the transaction wrote, so it holds alike for a single create or update (the signature
 * arrives in `X-Provenance`, fhir/x-provenance.ts) and for a transaction Bundle (a Provenance
 * entry whose `target` is the signed entry):
 * 1. every Provenance written with a JOSE signature must verify over the version it targets —
 *    an invalid signature is refused even for a type that does not require one;
 * 2. every version written of a type in `requiredTypes` must be the target of such a Provenance
 *    written in the same transaction. Deletions need no signature.
 * A failure rolls the whole transaction back and answers 422 with the check that failed.
 */
import { FhirError, type IssueCode, isRecord } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { WriteHook } from '../fhir/write-hooks.ts';
import type { StoredVersion, StoreTransaction } from '../store/port.ts';
import { JOSE_SIGNATURE_FORMAT, type SignatureCheck, type SignatureVerifier } from './signature-verifier.ts';
import { signedContent } from './signed-content.ts';

export interface SignaturePolicy {
  requiredTypes: readonly string[];
  verifier: SignatureVerifier;
  /**
   * The target as the clinician signed it, from its stored form: content the write moved to the
   * blob store put back (blobs/write-answers.ts). Absent: the stored form is what was signed.
   */
  asWritten?: (resource: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

export function signaturePolicyHook(policy: SignaturePolicy): WriteHook {
  const required = new Set(policy.requiredTypes);
  return {
    async beforeCommit(versions, scope) {
      const written = new Map<string, StoredVersion>();
      for (const version of versions) written.set(`${version.resourceType}/${version.id}`, version);
      const signed = new Set<string>();
      const now = new Date();
      for (const version of versions) {
        const provenance = signatureProvenance(version);
        if (provenance === undefined) continue;
        const target = await signedTarget(provenance, written, scope.tx, scope.ctx);
        const content = signedContent(
          policy.asWritten === undefined ? target.resource : await policy.asWritten(target.resource),
        );
        const signatures = Array.isArray(provenance.signature) ? provenance.signature : [];
        for (const [index, signature] of signatures.entries()) {
          if (!isRecord(signature) || signature.sigFormat !== JOSE_SIGNATURE_FORMAT) continue;
          const verdict = await policy.verifier.verify(signature, content, now);
          if (!verdict.valid) {
            throw signatureError(
              verdict.check,
              `The signature of ${target.key} failed the '${verdict.check}' check: ${verdict.diagnostics}`,
              [`Provenance.signature[${index}]`],
            );
          }
        }
        signed.add(target.key);
      }
      for (const version of versions) {
        if (version.deleted || !required.has(version.resourceType)) continue;
        const key = `${version.resourceType}/${version.id}/_history/${version.versionId}`;
        if (signed.has(key)) continue;
        throw signatureError(
          'unsigned',
          `${version.resourceType} requires a clinician's signature: send a Provenance with a JOSE signature of ${version.resourceType}/${version.id} (X-Provenance header, or a Provenance entry in the transaction Bundle)`,
          [version.resourceType],
        );
      }
    },
  };
}

/** The Provenance of a version when it carries a JOSE signature (the text is searched before parsing). */
function signatureProvenance(version: StoredVersion): Record<string, unknown> | undefined {
  if (version.resourceType !== 'Provenance' || version.json === undefined) return undefined;
  if (!version.json.includes(JOSE_SIGNATURE_FORMAT)) return undefined;
  const provenance: unknown = JSON.parse(version.json);
  if (!isRecord(provenance) || !Array.isArray(provenance.signature)) return undefined;
  const jose = provenance.signature.some(
    (signature) => isRecord(signature) && signature.sigFormat === JOSE_SIGNATURE_FORMAT,
  );
  return jose ? provenance : undefined;
}

const TARGET_REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([0-9]+))?$/;

export interface ReferencedVersion {
  resourceType: string;
  id: string;
  versionId?: number;
}

export function parseTargetReference(reference: unknown): ReferencedVersion | undefined {
  if (typeof reference !== 'string') return undefined;
  const match = TARGET_REFERENCE.exec(reference);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return {
    resourceType: match[1],
    id: match[2],
    ...(match[3] !== undefined ? { versionId: Number(match[3]) } : {}),
  };
}

/**
 * The one version a signature Provenance signs: the version its target names, else the one this
 * transaction wrote, else the current one.
 */
async function signedTarget(
  provenance: Record<string, unknown>,
  written: ReadonlyMap<string, StoredVersion>,
  tx: StoreTransaction,
  ctx: RequestContext,
): Promise<{ key: string; resource: Record<string, unknown> }> {
  const targets = Array.isArray(provenance.target) ? provenance.target : [];
  const reference =
    targets.length === 1 && isRecord(targets[0]) ? parseTargetReference(targets[0].reference) : undefined;
  if (reference === undefined) {
    throw signatureError(
      'malformed',
      'A signature Provenance must have exactly one target: a literal reference to the signed resource',
      ['Provenance.target'],
    );
  }
  const { resourceType, id, versionId } = reference;
  const inTransaction = written.get(`${resourceType}/${id}`);
  const version =
    versionId !== undefined && inTransaction?.versionId !== versionId
      ? await tx.readVersion(ctx, resourceType, id, versionId)
      : (inTransaction ?? (await tx.read(ctx, resourceType, id)));
  const resource: unknown = version?.json === undefined ? undefined : JSON.parse(version.json);
  if (version === undefined || !isRecord(resource)) {
    throw signatureError('malformed', `The signed target ${resourceType}/${id} does not exist`, [
      'Provenance.target',
    ]);
  }
  return { key: `${resourceType}/${id}/_history/${version.versionId}`, resource };
}

const ISSUE_CODES: Record<SignatureCheck | 'unsigned', IssueCode> = {
  unsigned: 'security',
  malformed: 'invalid',
  expired: 'security',
  untrusted: 'security',
  revoked: 'security',
  'wrong-signer': 'security',
  stale: 'security',
  altered: 'invalid',
};

export function signatureError(
  check: SignatureCheck | 'unsigned',
  diagnostics: string,
  expression: string[],
): FhirError {
  return new FhirError('unprocessable', {
    severity: 'error',
    code: ISSUE_CODES[check],
    diagnostics,
    expression,
  });
}
