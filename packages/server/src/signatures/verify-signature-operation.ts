/**
 * `$verify-signature` at instance level (`GET [base]/Condition/1/$verify-signature`, optional
 * `version`): verifies again every JOSE signature stored in a Provenance that targets that
 * version of the resource (default: the current one), over the content stored for it now — so a
 * row altered in the database after the signature was accepted shows as `altered`. The validity
 * of each certificate is judged at `signature.when`, revocation and registration as they are now.
 * Answers a Parameters resource: `valid` (true only when there is at least one signature and
 * every one verifies) and one `signature` part per signature with its check and diagnostics.
 */
import { fhirError, isRecord, parseSearch } from '@concordia/fhir';
import type { FhirResponse } from '../fhir/interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../fhir/interaction-env.ts';
import { type FhirOperation, operationParameters, singleParameter } from '../fhir/operations.ts';
import { planSearch } from '../fhir/search-plan.ts';
import type { StoredVersion } from '../store/port.ts';
import { parseTargetReference } from './signature-policy.ts';
import {
  JOSE_SIGNATURE_FORMAT,
  type SignatureVerdict,
  type SignatureVerifier,
} from './signature-verifier.ts';
import { signedContent } from './signed-content.ts';

export const VERIFY_SIGNATURE_DEFINITION =
  'https://concordia.example/fhir/OperationDefinition/verify-signature';

/** Most signature Provenances looked at for one resource. */
const MAX_PROVENANCES = 100;

export function verifySignatureOperation(verifier: SignatureVerifier): FhirOperation {
  return {
    name: 'verify-signature',
    definition: VERIFY_SIGNATURE_DEFINITION,
    instance: '*',
    methods: ['GET', 'POST'],
    handler: (request, env) => verifySignatures(request, env, verifier),
  };
}

async function verifySignatures(
  request: RoutedRequest,
  env: InteractionEnv,
  verifier: SignatureVerifier,
): Promise<FhirResponse> {
  const resourceType = request.resourceType ?? '';
  const id = request.id ?? '';
  const parameters = operationParameters(request.query, request.body);
  const versionParameter = singleParameter(parameters, 'version');
  const target = await targetVersion(env, resourceType, id, versionParameter);
  const resource: unknown = target.json === undefined ? undefined : JSON.parse(target.json);
  if (!isRecord(resource)) throw fhirError('gone', 'deleted', `${resourceType}/${id} is deleted`);
  const content = signedContent(resource);
  const parts: Record<string, unknown>[] = [];
  for (const provenance of await signatureProvenances(env, resourceType, id)) {
    if ((await signedVersionOf(env, provenance, resourceType, id)) !== target.versionId) continue;
    const signatures = Array.isArray(provenance.signature) ? provenance.signature : [];
    for (const signature of signatures) {
      if (!isRecord(signature) || signature.sigFormat !== JOSE_SIGNATURE_FORMAT) continue;
      const verdict = await verifier.verify(signature, content);
      parts.push(signaturePart(`Provenance/${String(provenance.id)}`, verdict));
    }
  }
  const valid = parts.length > 0 && parts.every((part) => partValid(part));
  return {
    status: 200,
    interaction: 'operation',
    body: {
      kind: 'resource',
      resource: {
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'target',
            valueReference: { reference: `${resourceType}/${id}/_history/${target.versionId}` },
          },
          { name: 'valid', valueBoolean: valid },
          ...parts,
        ],
      },
    },
  };
}

async function targetVersion(
  env: InteractionEnv,
  resourceType: string,
  id: string,
  versionParameter: string | undefined,
): Promise<StoredVersion> {
  if (versionParameter !== undefined && !/^[1-9][0-9]{0,9}$/.test(versionParameter)) {
    throw fhirError('invalid', 'invalid', 'version must be a positive integer', ['version']);
  }
  const version =
    versionParameter === undefined
      ? await env.reads.read(env.ctx, resourceType, id)
      : await env.reads.readVersion(env.ctx, resourceType, id, Number(versionParameter));
  if (version === undefined) throw fhirError('not-found', 'not-found', `${resourceType}/${id} not found`);
  return version;
}

/** The current Provenances that target the resource (any version) and carry a JOSE signature. */
async function signatureProvenances(
  env: InteractionEnv,
  resourceType: string,
  id: string,
): Promise<Record<string, unknown>[]> {
  const parsed = parseSearch(
    { resourceType: 'Provenance', pairs: [['target', `${resourceType}/${id}`]] },
    env.searchParameters,
  );
  const plan = planSearch(parsed.query, { ...env.config, maxPageSize: MAX_PROVENANCES }, {});
  const page = await env.reads.search(env.ctx, { ...plan.store, count: MAX_PROVENANCES });
  const provenances: Record<string, unknown>[] = [];
  for (const match of page.matches) {
    if (!match.json.includes(JOSE_SIGNATURE_FORMAT)) continue;
    const provenance: unknown = JSON.parse(match.json);
    if (isRecord(provenance)) provenances.push(provenance);
  }
  return provenances;
}

/**
 * The version a signature Provenance signs: the one its target names, or — for an unversioned
 * target, as a transaction Bundle writes it — the one current when the Provenance was written
 * (a version and its signature share the transaction, hence `lastUpdated`).
 */
async function signedVersionOf(
  env: InteractionEnv,
  provenance: Record<string, unknown>,
  resourceType: string,
  id: string,
): Promise<number | undefined> {
  const targets = Array.isArray(provenance.target) ? provenance.target : [];
  const reference = isRecord(targets[0]) ? parseTargetReference(targets[0].reference) : undefined;
  if (reference === undefined || reference.resourceType !== resourceType || reference.id !== id)
    return undefined;
  if (reference.versionId !== undefined) return reference.versionId;
  const recorded = isRecord(provenance.meta) ? provenance.meta.lastUpdated : undefined;
  if (typeof recorded !== 'string') return undefined;
  const page = await env.store.history(env.ctx, { resourceType, id, at: recorded, count: 1 });
  return page.versions[0]?.versionId;
}

function signaturePart(provenance: string, verdict: SignatureVerdict): Record<string, unknown> {
  const part: Record<string, unknown>[] = [
    { name: 'provenance', valueReference: { reference: provenance } },
    { name: 'valid', valueBoolean: verdict.valid },
  ];
  if (verdict.valid) {
    part.push(
      { name: 'signer', valueReference: { reference: `Practitioner/${verdict.practitionerId}` } },
      { name: 'when', valueInstant: verdict.when },
      { name: 'certificate', valueString: verdict.thumbprint },
    );
  } else {
    part.push(
      { name: 'check', valueCode: verdict.check },
      { name: 'diagnostics', valueString: verdict.diagnostics },
    );
  }
  return { name: 'signature', part };
}

function partValid(part: Record<string, unknown>): boolean {
  const parts = Array.isArray(part.part) ? part.part : [];
  return parts.some((item) => isRecord(item) && item.name === 'valid' && item.valueBoolean === true);
}
