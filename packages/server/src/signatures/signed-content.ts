/**
 * What a clinician's signature covers (DESIGN.md D9): the RFC 8785 (JCS) canonical JSON of the
 * resource as the server stores it, less the three elements the server itself assigns — `id`
 * (server-assigned on create), `meta.versionId` and `meta.lastUpdated` — and `meta` when nothing
 * else is left in it. A client signs its request body with the same function, so the bytes it
 * signs are the bytes the server checks, now and on every later `$verify-signature`.
 *
 * Everything else is covered: references exactly as stored (a signed resource in a transaction
 * Bundle must therefore refer to other resources by their real ids, not by `urn:uuid:` fullUrls
 * that the server rewrites), extensions, text, `meta.profile`, `meta.security`, `meta.tag`.
 */
import { canonicalJson, isRecord } from '@concordia/fhir';

export function signedContent(resource: Record<string, unknown>): Uint8Array {
  const { id: _id, meta, ...rest } = resource;
  const content: Record<string, unknown> = { ...rest };
  if (isRecord(meta)) {
    const { versionId: _versionId, lastUpdated: _lastUpdated, ...kept } = meta;
    if (Object.keys(kept).length > 0) content.meta = kept;
  }
  return new TextEncoder().encode(canonicalJson(content));
}
