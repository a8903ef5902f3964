/**
 * What one ledger leaf commits to (docs/audit-and-ledger.md "Leaves"). The leaf data of RFC 9162
 * §2.1.1 is the UTF-8 RFC 8785 canonical JSON of
 *   {"contentSha256": <hex SHA-256 of the content's canonical JSON>, "kind": …, "recordedAt": …, "reference": …}
 * so that a client holding the resource (and its proof's leaf) can rebuild the leaf hash without
 * any other data, and a proof reveals a hash, never clinical content.
 */
import { utf8 } from './bytes.ts';
import { canonicalJson } from './canonical-json.ts';
import { merkleLeafHash } from './merkle-proof.ts';

export interface LedgerLeaf {
  kind: 'resource-version' | 'audit-event' | 'audit-access-batch';
  /** `Patient/1/_history/2`, `AuditEvent/<id>` or `AuditAccessBatch/<n>` (a batch of access-log rows). */
  reference: string;
  /** Transaction time, FHIR instant with milliseconds (= meta.lastUpdated of a resource version). */
  recordedAt: string;
  /** Lower-case hex SHA-256 of the UTF-8 canonical JSON of the content. */
  contentSha256: string;
}

export function ledgerLeafData(leaf: LedgerLeaf): Uint8Array {
  return utf8(
    canonicalJson({
      contentSha256: leaf.contentSha256,
      kind: leaf.kind,
      recordedAt: leaf.recordedAt,
      reference: leaf.reference,
    }),
  );
}

export function ledgerLeafHash(leaf: LedgerLeaf): Promise<Uint8Array> {
  return merkleLeafHash(ledgerLeafData(leaf));
}

/**
 * The canonical JSON a tombstone (a deleted version, which has no content) is recorded as: the
 * facts of the deletion, so that changing them is as visible as changing a resource.
 */
export function tombstoneContent(resourceType: string, id: string, versionId: number, lastUpdated: string) {
  return { deleted: true, id, lastUpdated, resourceType, versionId: String(versionId) };
}
