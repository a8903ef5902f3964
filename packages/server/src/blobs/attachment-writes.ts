/**
 * Every `Attachment.data` of every resource is kept in the encrypted blob store (DESIGN.md D13,
 * docs/signatures-and-encryption.md "Attachment.data"): a write hook, after validation and the
 * signature hook, seals each `data` and rewrites the change so that the stored form holds a
 * reference (@concordia/fhir attachment-blob-reference.ts); the store recorder inserts the blob
 * rows in the very statement that writes the version (one multi-row insert for a batch). Small
 * blobs carry their ciphertext in the row, so a rolled-back write leaves nothing at all.
 *
 * The cost falls on writes that have attachments: every other write pays one untyped pass
 * (`mayHoldAttachmentData`), and sealing is one data key, one AES-GCM encryption and one local
 * key wrap per attachment, with no database round trip.
 */
import {
  ATTACHMENT_BLOB_EXTENSION,
  attachmentsOf,
  blobReferenceOf,
  decodeBase64Data,
  fhirError,
  isRecord,
  mapAttachments,
  mayHoldAttachmentData,
  withBlobReference,
} from '@concordia/fhir';
import type { WriteHook, WriteScope } from '../fhir/write-hooks.ts';
import type { RecordedVersion, VersionRecorder } from '../store/port.ts';
import { type BlobStore, blobRowsInsert, type SealedBlob } from './blob-store.ts';
import { heldBlobs } from './held-blobs.ts';
import { attachmentReferencePaths, blobHashesIn } from './sealed-content.ts';

export interface AttachmentBlobWrites {
  hook: WriteHook;
  recorder: VersionRecorder;
}

export function attachmentBlobWrites(blobs: BlobStore): AttachmentBlobWrites {
  return {
    hook: {
      async beforeApply(change, scope) {
        if (change.kind !== 'write' || !mayHoldAttachmentData(change.resource)) return;
        const { id, resourceType } = change.resource;
        const sealed = await sealAttachments(change.resource, blobs, scope);
        // The change is the one the store applies next: it stores references instead of `data`.
        if (sealed !== change.resource) change.resource = { ...sealed, id, resourceType };
      },
    },
    recorder: {
      name: 'attachment_blob',
      record(recorded) {
        const sealed = sealedBlobsOf([recorded]);
        return sealed.length === 0 ? [] : [blobRowsInsert(sealed)];
      },
      recordMany(recorded) {
        const sealed = sealedBlobsOf(recorded);
        return sealed.length === 0 ? [] : [blobRowsInsert(sealed)];
      },
    },
  };
}

/** The resource with each Attachment's `data` sealed; the same object when there is nothing to seal. */
async function sealAttachments(
  resource: Record<string, unknown> & { resourceType: string; id: string },
  blobs: BlobStore,
  scope: WriteScope,
): Promise<Record<string, unknown>> {
  const held = heldBlobs();
  if (held === undefined) throw new Error('attachments are sealed only while the core handles a request');
  const attachments = attachmentsOf(resource);
  const attachmentPaths = new Set(attachments.map((found) => found.path));
  // Only the server names a blob, and only in an Attachment: a reference elsewhere (a Binary's or a
  // Signature's `_data`) would be put back on read all the same, so it must not be stored.
  const stray = attachmentReferencePaths(resource).find((path) => !attachmentPaths.has(path));
  if (stray !== undefined) throw reservedReference(`${stray}.data`);
  let storedHashes: Set<string> | undefined;
  const hashByPath = new Map<string, string>();
  for (const { attachment, path } of attachments) {
    if (typeof attachment.data !== 'string') {
      const claimed = blobReferenceOf(attachment, ATTACHMENT_BLOB_EXTENSION);
      if (claimed === undefined) continue;
      storedHashes ??= await currentBlobHashes(scope, resource.resourceType, resource.id);
      if (!storedHashes.has(claimed)) throw reservedReference(`${path}.data`);
      continue;
    }
    const bytes = decodeBase64Data(attachment.data);
    if (bytes === undefined) {
      throw fhirError('invalid', 'invalid', 'Attachment.data is not base64', [`${path}.data`]);
    }
    const contentType = typeof attachment.contentType === 'string' ? attachment.contentType : undefined;
    const sealed = await blobs.seal(bytes, contentType);
    held.sealed.set(sealed.hash, sealed);
    held.plaintext.set(sealed.hash, bytes);
    hashByPath.set(path, sealed.hash);
  }
  if (hashByPath.size === 0) return resource;
  return mapAttachments(resource, (attachment, path) => {
    const hash = hashByPath.get(path);
    return hash === undefined ? attachment : withBlobReference(attachment, ATTACHMENT_BLOB_EXTENSION, hash);
  });
}

/**
 * The blobs the current stored version refers to, read inside the transaction (the stored form):
 * a reference is kept only when it is the content the resource already has — a PATCH, a
 * transaction entry that read and rewrites it. Otherwise a hash would be a capability: anyone who
 * learnt one could write an Attachment naming it and read that content back.
 */
async function currentBlobHashes(scope: WriteScope, resourceType: string, id: string): Promise<Set<string>> {
  const current = await scope.tx.read(scope.ctx, resourceType, id);
  const stored: unknown = current?.json === undefined ? undefined : JSON.parse(current.json);
  return new Set(isRecord(stored) ? blobHashesIn(stored) : []);
}

function reservedReference(expression: string) {
  return fhirError(
    'invalid',
    'invalid',
    `The extension ${ATTACHMENT_BLOB_EXTENSION} is set by the server: send the content in Attachment.data`,
    [expression],
  );
}

/** The blobs sealed by this request that the versions refer to, once each. */
function sealedBlobsOf(recorded: readonly RecordedVersion[]): SealedBlob[] {
  const held = heldBlobs();
  if (held === undefined || held.sealed.size === 0) return [];
  const found = new Map<string, SealedBlob>();
  for (const { version, resource } of recorded) {
    if (resource === undefined || version.json === undefined) continue;
    if (!version.json.includes(ATTACHMENT_BLOB_EXTENSION)) continue;
    for (const hash of blobHashesIn(resource)) {
      const sealed = held.sealed.get(hash);
      if (sealed !== undefined) found.set(hash, sealed);
    }
  }
  return [...found.values()];
}
