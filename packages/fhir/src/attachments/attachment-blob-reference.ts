/**
 * How a stored Attachment points at its content in the server's encrypted blob store instead of
 * holding it (docs/signatures-and-encryption.md): `Attachment.data` is a base64Binary primitive,
 * and a primitive may carry extensions without a value (json.html#primitive), so the stored form
 * keeps `"_data": {"extension": [{"url": ATTACHMENT_BLOB_EXTENSION, "valueString": "<sha-256 hex>"}]}`
 * and no `data`. The hash is that of the decoded bytes. Every Attachment with `data` is stored so,
 * whatever its size: the stored form is a function of the content alone, which is what lets a
 * client recompute it (`storedAttachmentForm`) and check a ledger proof of a version it read.
 * Binary keeps the same kind of reference under `BINARY_BLOB_EXTENSION`, on the resource's root.
 */
import { fromBase64, sha256, toHex } from '../ledger/bytes.ts';
import { isRecord } from '../resource.ts';
import { mapAttachments } from './attachment-walk.ts';

export const ATTACHMENT_BLOB_EXTENSION = 'https://concordia.example/fhir/StructureDefinition/attachment-blob';
export const BINARY_BLOB_EXTENSION = 'https://concordia.example/fhir/StructureDefinition/binary-blob';

/** `element` (an Attachment, or a Binary) with `data` replaced by the reference `url` → `hash`. */
export function withBlobReference(
  element: Record<string, unknown>,
  url: string,
  hash: string,
): Record<string, unknown> {
  const { data: _data, _data: dataElement, ...rest } = element;
  // Only the server names a blob: a reference sent beside `data` is dropped, never kept first.
  const extensions = (
    isRecord(dataElement) && Array.isArray(dataElement.extension) ? dataElement.extension : []
  ).filter((extension: unknown) => !(isRecord(extension) && extension.url === url));
  return {
    ...rest,
    _data: {
      ...(isRecord(dataElement) ? dataElement : {}),
      extension: [...extensions, { url, valueString: hash }],
    },
  };
}

/** The blob hash the `_data` of `element` refers to under `url`, if it does. */
export function blobReferenceOf(element: Record<string, unknown>, url: string): string | undefined {
  const dataElement = element._data;
  if (!isRecord(dataElement) || !Array.isArray(dataElement.extension)) return undefined;
  const reference = dataElement.extension.find((extension) => isRecord(extension) && extension.url === url);
  return isRecord(reference) && typeof reference.valueString === 'string' ? reference.valueString : undefined;
}

/** `element` as clients know it: `data` (canonical base64 of `bytes`) back, the reference `url` gone. */
export function withBlobContent(
  element: Record<string, unknown>,
  url: string,
  base64: string,
): Record<string, unknown> {
  const { _data: dataElement, ...rest } = element;
  const result: Record<string, unknown> = { ...rest, data: base64 };
  if (isRecord(dataElement) && Array.isArray(dataElement.extension)) {
    const kept = dataElement.extension.filter((extension) => !(isRecord(extension) && extension.url === url));
    const { extension: _extension, ...others } = dataElement;
    if (kept.length > 0 || Object.keys(others).length > 0) {
      result._data = { ...others, ...(kept.length > 0 ? { extension: kept } : {}) };
    }
  }
  return result;
}

/** Base64 as FHIR allows it (datatypes.html#base64Binary, whitespace ignored), decoded; `undefined` if it is not. */
export function decodeBase64Data(data: string): Uint8Array | undefined {
  const text = data.replace(/\s+/g, '');
  try {
    return fromBase64(text);
  } catch {
    return undefined;
  }
}

/**
 * The form the server stores a resource in, derived from the resource as read: every
 * `Attachment.data` replaced by the reference to the SHA-256 of its bytes, and for a Binary its
 * `data` by the Binary reference. What the ledger leaf of a version written since attachments are
 * sealed commits to; the client needs no key and no access to the blob store to compute it.
 * Content that is not base64 is left as it is (the server would have refused it).
 */
export async function storedAttachmentForm(
  resource: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const hashes = new Map<string, string>();
  const hashOf = async (data: string): Promise<void> => {
    const bytes = hashes.has(data) ? undefined : decodeBase64Data(data);
    if (bytes !== undefined) hashes.set(data, toHex(await sha256(bytes)));
  };
  const datas: string[] = [];
  mapAttachments(resource, (attachment) => {
    if (typeof attachment.data === 'string') datas.push(attachment.data);
    return attachment;
  });
  const binaryData =
    resource.resourceType === 'Binary' && typeof resource.data === 'string' ? resource.data : undefined;
  for (const data of binaryData === undefined ? datas : [...datas, binaryData]) await hashOf(data);
  const sealed = mapAttachments(resource, (attachment) => {
    const hash = typeof attachment.data === 'string' ? hashes.get(attachment.data) : undefined;
    return hash === undefined ? attachment : withBlobReference(attachment, ATTACHMENT_BLOB_EXTENSION, hash);
  });
  const binaryHash = binaryData === undefined ? undefined : hashes.get(binaryData);
  return binaryHash === undefined ? sealed : withBlobReference(sealed, BINARY_BLOB_EXTENSION, binaryHash);
}
