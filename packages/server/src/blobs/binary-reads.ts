/**
 * The resource store as clients see it when Binary content lives in the blob store: every read
 * outside a transaction — read, vread, search and its includes, `$everything`, history, and so
 * bulk `$export` — returns each Binary with its `data` again (binary-blob-reference.ts). Reads
 * inside a write transaction see the stored form: they serve the write (versions, conditions),
 * and inside a PGlite transaction the blob rows could not be read anyway.
 */
import { isRecord } from '@concordia/fhir';
import type { ResourceStore, SearchPage, StoredMatch, StoredVersion } from '../store/port.ts';
import { BINARY_BLOB_EXTENSION, blobReferenceOf, withContent } from './binary-blob-reference.ts';
import type { BlobStore } from './blob-store.ts';

export function withBinaryContent(store: ResourceStore, blobs: BlobStore): ResourceStore {
  const inflate = async <T extends StoredVersion | StoredMatch>(item: T): Promise<T> => {
    if (
      item.resourceType !== 'Binary' ||
      item.json === undefined ||
      !item.json.includes(BINARY_BLOB_EXTENSION)
    ) {
      return item;
    }
    const resource: unknown = JSON.parse(item.json);
    const hash = isRecord(resource) ? blobReferenceOf(resource) : undefined;
    if (!isRecord(resource) || hash === undefined) return item;
    const blob = await blobs.get(hash);
    if (blob === undefined) throw new Error(`Binary/${item.id} refers to blob ${hash}, which is not stored`);
    return { ...item, json: JSON.stringify(withContent(resource, blob.bytes)) };
  };
  const inflatePage = async (page: SearchPage): Promise<SearchPage> => ({
    ...page,
    matches: await Promise.all(page.matches.map(inflate)),
    included: await Promise.all(page.included.map(inflate)),
  });
  return {
    ...store,
    async read(ctx, resourceType, id) {
      const version = await store.read(ctx, resourceType, id);
      return version === undefined ? undefined : inflate(version);
    },
    async readVersion(ctx, resourceType, id, versionId) {
      const version = await store.readVersion(ctx, resourceType, id, versionId);
      return version === undefined ? undefined : inflate(version);
    },
    async search(ctx, search) {
      return inflatePage(await store.search(ctx, search));
    },
    async everything(ctx, query) {
      return inflatePage(await store.everything(ctx, query));
    },
    async history(ctx, query) {
      const page = await store.history(ctx, query);
      return { ...page, versions: await Promise.all(page.versions.map(inflate)) };
    },
  };
}
