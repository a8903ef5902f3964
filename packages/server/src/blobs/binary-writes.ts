/**
 * Writes of Binary resources keep their content in the encrypted blob store (DESIGN.md D13):
 * before a Binary version is applied (a write hook, inside the transaction), `data` is decoded,
 * encrypted (a large blob's object written) and held for the request (held-blobs.ts), and the
 * version is stored with a reference instead (binary-blob-reference.ts). The blob's row is inserted
 * by a store recorder in the very statement that writes the version, so a rolled-back write leaves
 * no row — at most an unreachable object. Nothing here queries the database itself: inside a
 * PGlite transaction it could not.
 */
import { fhirError, isRecord } from '@concordia/fhir';
import type { WriteHook, WriteScope } from '../fhir/write-hooks.ts';
import type { VersionRecorder } from '../store/port.ts';
import { sql } from '../store/sql.ts';
import { BINARY_BLOB_EXTENSION, blobReferenceOf, withBlobReference } from './binary-blob-reference.ts';
import { type BlobStore, blobRowInsert } from './blob-store.ts';
import { heldBlobs } from './held-blobs.ts';

export interface BinaryBlobWrites {
  hook: WriteHook;
  recorder: VersionRecorder;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function binaryBlobWrites(blobs: BlobStore): BinaryBlobWrites {
  return {
    hook: {
      resourceType: 'Binary',
      async beforeApply(change, scope) {
        if (change.kind !== 'write') return;
        if (typeof change.resource.data !== 'string') {
          const claimed = blobReferenceOf(change.resource);
          if (claimed !== undefined) await requireStoredReference(scope, change.resource.id, claimed);
          return;
        }
        const text = change.resource.data.replace(/\s+/g, '');
        if (!BASE64.test(text) || text.length % 4 !== 0) {
          throw fhirError('invalid', 'invalid', 'Binary.data is not base64', ['Binary.data']);
        }
        const held = heldBlobs();
        if (held === undefined)
          throw new Error('Binary content is sealed only while the core handles a request');
        const contentType =
          typeof change.resource.contentType === 'string' ? change.resource.contentType : undefined;
        const bytes = Buffer.from(text, 'base64');
        const sealed = await blobs.seal(bytes, contentType);
        // Between the hook and the recorder of the same write; a later write of the same bytes may
        // replace the entry: either is a correct blob for the hash.
        held.sealed.set(sealed.hash, sealed);
        held.plaintext.set(sealed.hash, bytes);
        // The change is the one the store applies next: it stores the reference instead of `data`.
        const { id, resourceType } = change.resource;
        change.resource = { ...withBlobReference(change.resource, sealed.hash), id, resourceType };
      },
    },
    recorder: {
      name: 'binary_blob',
      record({ version, resource }) {
        if (version.resourceType !== 'Binary' || resource === undefined) return [];
        const hash = blobReferenceOf(resource);
        const sealed = hash === undefined ? undefined : heldBlobs()?.sealed.get(hash);
        if (sealed === undefined) return [];
        return [blobRowInsert(sealed, sql`select `, sql` from written`)];
      },
    },
  };
}

/**
 * A Binary written without `data` but with a blob reference keeps its content only if that is the
 * content it already has: the stored form read back inside a transaction (a PATCH, a transaction
 * entry that reads and rewrites). Otherwise the reference would be a capability — anyone who
 * learnt another blob's hash could create a Binary naming it and read that content back.
 */
async function requireStoredReference(scope: WriteScope, id: string, claimed: string): Promise<void> {
  const current = await scope.tx.read(scope.ctx, 'Binary', id);
  const stored: unknown = current?.json === undefined ? undefined : JSON.parse(current.json);
  if (isRecord(stored) && blobReferenceOf(stored) === claimed) return;
  throw fhirError(
    'invalid',
    'invalid',
    `The extension ${BINARY_BLOB_EXTENSION} is set by the server: send the content in Binary.data`,
    ['Binary.data'],
  );
}
