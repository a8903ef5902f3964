/**
 * How a stored Binary (http://hl7.org/fhir/R4/binary.html) points at its content in the blob
 * store instead of holding it: `Binary.data` is a base64Binary primitive, and a primitive may
 * carry extensions without a value (json.html#primitive), so the stored JSON keeps
 * `"_data": {"extension": [{"url": BINARY_BLOB_EXTENSION, "valueString": "<sha-256 hex>"}]}`
 * and no `data`. Reads put `data` back and drop the extension, so clients never see it.
 */
import { isRecord } from '@concordia/fhir';

export const BINARY_BLOB_EXTENSION = 'https://concordia.example/fhir/StructureDefinition/binary-blob';

/** `resource` with `data` replaced by the reference to blob `hash`. */
export function withBlobReference(resource: Record<string, unknown>, hash: string): Record<string, unknown> {
  const { data: _data, _data: dataElement, ...rest } = resource;
  // Only the server names a blob: a reference sent beside `data` is dropped, never kept first.
  const extensions = (
    isRecord(dataElement) && Array.isArray(dataElement.extension) ? dataElement.extension : []
  ).filter((extension: unknown) => !(isRecord(extension) && extension.url === BINARY_BLOB_EXTENSION));
  return {
    ...rest,
    _data: {
      ...(isRecord(dataElement) ? dataElement : {}),
      extension: [...extensions, { url: BINARY_BLOB_EXTENSION, valueString: hash }],
    },
  };
}

/** The blob hash a stored Binary refers to, if it does. */
export function blobReferenceOf(resource: Record<string, unknown>): string | undefined {
  const dataElement = resource._data;
  if (!isRecord(dataElement) || !Array.isArray(dataElement.extension)) return undefined;
  const reference = dataElement.extension.find(
    (extension) => isRecord(extension) && extension.url === BINARY_BLOB_EXTENSION,
  );
  return isRecord(reference) && typeof reference.valueString === 'string' ? reference.valueString : undefined;
}

/** The Binary as clients know it: `data` back, the blob reference gone. */
export function withContent(resource: Record<string, unknown>, bytes: Uint8Array): Record<string, unknown> {
  const { _data: dataElement, ...rest } = resource;
  const result: Record<string, unknown> = { ...rest, data: Buffer.from(bytes).toString('base64') };
  if (isRecord(dataElement) && Array.isArray(dataElement.extension)) {
    const kept = dataElement.extension.filter(
      (extension) => !(isRecord(extension) && extension.url === BINARY_BLOB_EXTENSION),
    );
    const { extension: _extension, ...others } = dataElement;
    if (kept.length > 0 || Object.keys(others).length > 0) {
      result._data = { ...others, ...(kept.length > 0 ? { extension: kept } : {}) };
    }
  }
  return result;
}
