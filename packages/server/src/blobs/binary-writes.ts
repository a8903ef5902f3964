/**
 * Writes of Binary resources keep their content in the encrypted blob store (DESIGN.md D13):
 * before a Binary version is applied (a write hook, inside the transaction), `data` is decoded,
 * encrypted and written as a blob object, and the version is stored with a reference instead
 * (binary-blob-reference.ts). The blob's row is inserted by a store recorder in the very statement
 * that writes the version, so a rolled-back write leaves no row — only an unreachable object.
 * Nothing here queries the database itself: inside a PGlite transaction it could not.
 */
import { fhirError, isRecord } from '@concordia/fhir';
import type { WriteHook, WriteScope } from '../fhir/write-hooks.ts';
import type { VersionRecorder } from '../store/port.ts';
import { sql } from '../store/sql.ts';
import { BINARY_BLOB_EXTENSION, blobReferenceOf, withBlobReference } from './binary-blob-reference.ts';
import { type BlobStore, blobRowInsert, type SealedBlob } from './blob-store.ts';

export interface BinaryBlobWrites {
  hook: WriteHook;
  recorder: VersionRecorder;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function binaryBlobWrites(blobs: BlobStore): BinaryBlobWrites {
  // Sealed between the hook and the recorder of the same write; a later write of the same bytes
  // may replace the entry: either object is a correct one for the hash.
  const sealedByHash = new Map<string, SealedBlob>();
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
        const contentType =
          typeof change.resource.contentType === 'string' ? change.resource.contentType : undefined;
        const sealed = await blobs.seal(Buffer.from(text, 'base64'), contentType);
        sealedByHash.set(sealed.hash, sealed);
        // The change is the one the store applies next: it stores the reference instead of `data`.
        const { id, resourceType } = change.resource;
        change.resource = { ...withBlobReference(change.resource, sealed.hash), id, resourceType };
      },
      async afterCommit(versions) {
        for (const version of versions) {
          const resource: unknown = version.json === undefined ? undefined : JSON.parse(version.json);
          const hash = isRecord(resource) ? blobReferenceOf(resource) : undefined;
          if (hash !== undefined) sealedByHash.delete(hash);
        }
      },
    },
    recorder: {
      name: 'binary_blob',
      record({ version, resource }) {
        if (version.resourceType !== 'Binary' || resource === undefined) return [];
        const hash = blobReferenceOf(resource);
        const sealed = hash === undefined ? undefined : sealedByHash.get(hash);
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
