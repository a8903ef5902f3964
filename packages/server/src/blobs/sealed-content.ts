/**
 * The stored form of content kept in the blob store, read without types: a stored Binary's root
 * and any object whose `_data` carries the attachment-blob extension (@concordia/fhir
 * attachment-blob-reference.ts). Untyped is sound here because only the server writes these
 * references: the write hooks refuse one anywhere a client put it (attachment-writes.ts,
 * binary-writes.ts), so every one found in stored JSON is one the server made.
 */
import {
  ATTACHMENT_BLOB_EXTENSION,
  BINARY_BLOB_EXTENSION,
  blobReferenceOf,
  isRecord,
  withBlobContent,
} from '@concordia/fhir';

const MAX_DEPTH = 128;

/** What both extension URLs start with: one scan of the JSON instead of two. */
const BLOB_EXTENSION_STEM = ((a: string, b: string): string => {
  let length = 0;
  while (length < a.length && a[length] === b[length]) length++;
  return a.slice(0, length);
})(ATTACHMENT_BLOB_EXTENSION, BINARY_BLOB_EXTENSION);

/** The substring test that spares every other resource the parse: may this JSON refer to a blob? */
export function mayReferToBlobs(json: string): boolean {
  return json.includes(BLOB_EXTENSION_STEM);
}

/** The hashes of every blob the stored resource refers to (attachments at any depth, a Binary's root). */
export function blobHashesIn(resource: Record<string, unknown>): string[] {
  const hashes: string[] = [];
  if (resource.resourceType === 'Binary') {
    const binary = blobReferenceOf(resource, BINARY_BLOB_EXTENSION);
    if (binary !== undefined) hashes.push(binary);
  }
  visitReferenceHolders(resource, '', 0, (holder) => {
    const hash = blobReferenceOf(holder, ATTACHMENT_BLOB_EXTENSION);
    if (hash !== undefined) hashes.push(hash);
  });
  return hashes;
}

/**
 * Where a resource as sent holds an attachment-blob reference: the paths of the objects whose
 * `_data` has one, in the form of @concordia/fhir `attachmentsOf` paths.
 */
export function attachmentReferencePaths(resource: Record<string, unknown>): string[] {
  const paths: string[] = [];
  const root = typeof resource.resourceType === 'string' ? resource.resourceType : '';
  visitReferenceHolders(resource, root, 0, (holder, path) => {
    if (blobReferenceOf(holder, ATTACHMENT_BLOB_EXTENSION) !== undefined) paths.push(path);
  });
  return paths;
}

/**
 * The resource as clients know it: `data` back wherever the stored form refers to a blob.
 * @throws when a referenced blob is not in `contents` (lost, or not readable here): a read must
 * fail rather than answer without the content.
 */
export function withSealedContent(
  resource: Record<string, unknown>,
  contents: ReadonlyMap<string, Uint8Array>,
): Record<string, unknown> {
  const base64Of = (hash: string): string => {
    const bytes = contents.get(hash);
    if (bytes === undefined) throw new Error(`blob ${hash} is referred to but not stored`);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  };
  const inline = (value: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item: unknown, index) => {
        const mapped = inline(item, depth + 1);
        if (mapped !== item) {
          copy ??= [...value];
          copy[index] = mapped;
        }
      });
      return copy ?? value;
    }
    if (!isRecord(value)) return value;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      if (key === '_data') continue;
      const child = value[key];
      const mapped = inline(child, depth + 1);
      if (mapped !== child) {
        copy ??= { ...value };
        copy[key] = mapped;
      }
    }
    const result = copy ?? value;
    const hash = blobReferenceOf(result, ATTACHMENT_BLOB_EXTENSION);
    return hash === undefined ? result : withBlobContent(result, ATTACHMENT_BLOB_EXTENSION, base64Of(hash));
  };
  const inlined = inline(resource, 0);
  const result = isRecord(inlined) ? inlined : resource;
  const binary =
    result.resourceType === 'Binary' ? blobReferenceOf(result, BINARY_BLOB_EXTENSION) : undefined;
  return binary === undefined ? result : withBlobContent(result, BINARY_BLOB_EXTENSION, base64Of(binary));
}

function visitReferenceHolders(
  value: unknown,
  path: string,
  depth: number,
  visit: (holder: Record<string, unknown>, path: string) => void,
): void {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => {
      visitReferenceHolders(item, `${path}[${index}]`, depth + 1, visit);
    });
    return;
  }
  if (!isRecord(value)) return;
  if (isRecord(value._data)) visit(value, path);
  for (const key of Object.keys(value)) {
    const child = value[key];
    if (child !== null && typeof child === 'object') {
      visitReferenceHolders(child, `${path}.${key}`, depth + 1, visit);
    }
  }
}
