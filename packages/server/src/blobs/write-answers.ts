/**
 * Content as written, where a write needs it after its content moved to the blob store:
 * - the answer to the write itself (`Prefer: return=representation`, a transaction Bundle's
 *   entries, a conditional create that matched): the core hands over the stored form, and
 *   clients must get back what they wrote — from the plaintext the request still holds
 *   (held-blobs.ts), else (a reference kept by a PATCH) from the blob store, after the commit;
 * - the signature check before COMMIT, which verifies over the content the clinician signed.
 */
import { isRecord } from '@concordia/fhir';
import type { FhirResponse, InteractionName } from '../fhir/interaction.ts';
import type { BlobStore } from './blob-store.ts';
import { heldBlobs, runHoldingBlobs } from './held-blobs.ts';
import { blobHashesIn, mayReferToBlobs, withSealedContent } from './sealed-content.ts';

/** Answers that carry resources as the write stored them. Reads come through the store's wrapper. */
const WRITE_INTERACTIONS: ReadonlySet<InteractionName> = new Set([
  'create',
  'update',
  'patch',
  'transaction',
  'batch',
]);

/**
 * Around the core's handling of a request (fhir/core.ts `interceptors`): holds what its writes
 * seal, and puts the content back into the answer of a write.
 */
export function writeAnswerContent(
  blobs: BlobStore,
): (next: () => Promise<FhirResponse>) => Promise<FhirResponse> {
  const asWritten = contentAsWritten(blobs);
  return (next) =>
    runHoldingBlobs(async () => {
      const response = await next();
      const body = response.body;
      if (body === undefined || !WRITE_INTERACTIONS.has(response.interaction)) return response;
      if (body.kind === 'resource') {
        // A transaction or batch answer, built from the entries' answers.
        const resource = await answerAsWritten(body.resource, asWritten);
        if (resource === body.resource) return response;
        const { resourceType } = body.resource;
        return { ...response, body: { kind: 'resource', resource: { ...resource, resourceType } } };
      }
      if (body.contentType !== undefined || !mayReferToBlobs(body.json)) return response;
      const answer: unknown = JSON.parse(body.json);
      if (!isRecord(answer)) return response;
      return {
        ...response,
        body: { kind: 'json', json: JSON.stringify(await answerAsWritten(answer, asWritten)) },
      };
    });
}

/** A transaction or batch answer holds one written resource per entry, each the root of its own. */
async function answerAsWritten<T extends Record<string, unknown>>(
  answer: T,
  asWritten: (resource: Record<string, unknown>) => Promise<Record<string, unknown>>,
): Promise<T | Record<string, unknown>> {
  const isResponseBundle =
    answer.resourceType === 'Bundle' && typeof answer.type === 'string' && answer.type.endsWith('-response');
  if (!isResponseBundle || !Array.isArray(answer.entry)) return asWritten(answer);
  let changed = false;
  const entry = await Promise.all(
    answer.entry.map(async (item: unknown) => {
      if (!isRecord(item) || !isRecord(item.resource)) return item;
      const resource = await asWritten(item.resource);
      if (resource === item.resource) return item;
      changed = true;
      return { ...item, resource };
    }),
  );
  return changed ? { ...answer, entry } : answer;
}

/**
 * `resource` (or a Bundle of them) with every blob reference replaced by the content: held
 * plaintext first, the blob store for the rest (inside a write transaction, the blob store's
 * database joins it, so blobs committed before are readable there).
 */
export function contentAsWritten(
  blobs: BlobStore,
): (resource: Record<string, unknown>) => Promise<Record<string, unknown>> {
  return async (resource) => {
    const hashes = blobHashesIn(resource);
    if (hashes.length === 0) return resource;
    const held = heldBlobs();
    const contents = new Map<string, Uint8Array>();
    const missing: string[] = [];
    for (const hash of hashes) {
      const plaintext = held?.plaintext.get(hash);
      if (plaintext !== undefined) contents.set(hash, plaintext);
      else missing.push(hash);
    }
    if (missing.length > 0)
      for (const [hash, bytes] of await blobs.getMany(missing)) contents.set(hash, bytes);
    return withSealedContent(resource, contents);
  };
}
