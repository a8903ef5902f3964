/**
 * The `X-Provenance` header (http://hl7.org/fhir/R4/provenance.html#header): a create or update
 * may carry a Provenance resource as JSON; the server stores it in the same transaction with its
 * `target` set to the version just written (a versioned reference), so the Provenance says
 * exactly which version it is about — and a signature in it (signatures/) covers that version.
 * A conditional create that matched an existing resource writes nothing, and no Provenance.
 */
import { randomUUID } from 'node:crypto';
import { fhirError, type IdentifiedResource, isRecord } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { StoredVersion, StoreTransaction } from '../store/port.ts';

/** The Provenance the header holds; 400 when it is not one. */
export function provenanceFromHeader(header: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    throw fhirError('invalid', 'structure', 'The X-Provenance header is not JSON', ['X-Provenance']);
  }
  if (!isRecord(value) || value.resourceType !== 'Provenance') {
    throw fhirError('invalid', 'structure', 'The X-Provenance header must hold a Provenance resource', [
      'X-Provenance',
    ]);
  }
  return value;
}

/** Writes the header's Provenance about `version`, in the transaction that wrote `version`. */
export async function recordHeaderProvenance(
  tx: StoreTransaction,
  ctx: RequestContext,
  header: string | undefined,
  version: StoredVersion,
): Promise<void> {
  if (header === undefined) return;
  const provenance = provenanceFromHeader(header);
  const resource: IdentifiedResource = {
    ...provenance,
    resourceType: 'Provenance',
    id: randomUUID(),
    target: [{ reference: `${version.resourceType}/${version.id}/_history/${version.versionId}` }],
    recorded: typeof provenance.recorded === 'string' ? provenance.recorded : version.lastUpdated,
  };
  await tx.apply(ctx, { kind: 'write', method: 'POST', resource, mustNotExist: true });
}
