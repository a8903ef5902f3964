/**
 * How a stored Binary (http://hl7.org/fhir/R4/binary.html) points at its content in the blob
 * store instead of holding it: `Binary.data` is a base64Binary primitive, and a primitive may
 * carry extensions without a value (json.html#primitive), so the stored JSON keeps
 * `"_data": {"extension": [{"url": BINARY_BLOB_EXTENSION, "valueString": "<sha-256 hex>"}]}`
 * and no `data`. Reads put `data` back and drop the extension, so clients never see it. The shape
 * is shared with sealed attachments (@concordia/fhir attachment-blob-reference.ts), whose
 * client-side derivation of the stored form covers Binary too.
 */
import {
  BINARY_BLOB_EXTENSION,
  withBlobReference as referenceInPlaceOfData,
  blobReferenceOf as referenceUnder,
  withBlobContent,
} from '@concordia/fhir';

export { BINARY_BLOB_EXTENSION };

/** `resource` with `data` replaced by the reference to blob `hash`. */
export function withBlobReference(resource: Record<string, unknown>, hash: string): Record<string, unknown> {
  return referenceInPlaceOfData(resource, BINARY_BLOB_EXTENSION, hash);
}

/** The blob hash a stored Binary refers to, if it does. */
export function blobReferenceOf(resource: Record<string, unknown>): string | undefined {
  return referenceUnder(resource, BINARY_BLOB_EXTENSION);
}

/** The Binary as clients know it: `data` back, the blob reference gone. */
export function withContent(resource: Record<string, unknown>, bytes: Uint8Array): Record<string, unknown> {
  return withBlobContent(resource, BINARY_BLOB_EXTENSION, Buffer.from(bytes).toString('base64'));
}
