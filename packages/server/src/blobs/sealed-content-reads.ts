/**
 * The resource store as clients see it when content lives in the blob store (Binary.data and
 * every Attachment.data, sealed-content.ts): every read outside a transaction — read, vread,
 * search and its includes, `$everything`, history, and so bulk `$export` — returns each resource
 * with its `data` again. An item whose JSON names no blob (a substring test) is passed through
 * untouched; the blobs of a page are fetched with one query. Reads inside a write transaction see
 * the stored form: they serve the write (versions, conditions, the reference rule of the hooks).
 */
import { isRecord } from '@concordia/fhir';
import type { ResourceStore, SearchPage, StoredMatch, StoredVersion } from '../store/port.ts';
import type { BlobStore } from './blob-store.ts';
import { blobHashesIn, mayReferToBlobs, withSealedContent } from './sealed-content.ts';

export function withStoredBlobContent(store: ResourceStore, blobs: BlobStore): ResourceStore {
  const inflate = async <T extends StoredVersion | StoredMatch>(items: readonly T[]): Promise<T[]> => {
    const sealed = new Map<number, Record<string, unknown>>();
    const hashes: string[] = [];
    items.forEach((item, index) => {
      if (item.json === undefined || !mayReferToBlobs(item.json)) return;
      const resource: unknown = JSON.parse(item.json);
      if (!isRecord(resource)) return;
      const referred = blobHashesIn(resource);
      if (referred.length === 0) return;
      sealed.set(index, resource);
      hashes.push(...referred);
    });
    if (sealed.size === 0) return [...items];
    const contents = await blobs.getMany(hashes);
    return items.map((item, index) => {
      const resource = sealed.get(index);
      if (resource === undefined) return item;
      try {
        return { ...item, json: JSON.stringify(withSealedContent(resource, contents)) };
      } catch (error) {
        throw new Error(`${item.resourceType}/${item.id}: ${error instanceof Error ? error.message : error}`);
      }
    });
  };
  const inflateOne = async <T extends StoredVersion>(item: T | undefined): Promise<T | undefined> =>
    item === undefined ? undefined : (await inflate([item]))[0];
  const inflatePage = async (page: SearchPage): Promise<SearchPage> => {
    const all = await inflate([...page.matches, ...page.included]);
    return { ...page, matches: all.slice(0, page.matches.length), included: all.slice(page.matches.length) };
  };
  return {
    ...store,
    async read(ctx, resourceType, id) {
      return inflateOne(await store.read(ctx, resourceType, id));
    },
    async readVersion(ctx, resourceType, id, versionId) {
      return inflateOne(await store.readVersion(ctx, resourceType, id, versionId));
    },
    async search(ctx, search) {
      return inflatePage(await store.search(ctx, search));
    },
    async everything(ctx, query) {
      return inflatePage(await store.everything(ctx, query));
    },
    async history(ctx, query) {
      const page = await store.history(ctx, query);
      return { ...page, versions: await inflate(page.versions) };
    },
  };
}
