/**
 * Whether an update would store what is already stored. Imports PUT every resource that has an
 * id (import-requests.ts), and re-running an import must not add a version to every unchanged
 * resource: the importer asks for such no-op updates to be skipped (`FhirRequest.skipUnchanged`).
 * The comparison ignores `meta.versionId` and `meta.lastUpdated` — the server sets them, so an
 * exported-and-reimported resource differs there and nowhere else — and the order of JSON keys;
 * every other element counts, `meta.tag`, `meta.profile` and `meta.security` included.
 */
import { isRecord } from '@concordia/fhir';

export function sameContent(storedJson: string, resource: Record<string, unknown>): boolean {
  return deepEqual(withoutServerMeta(JSON.parse(storedJson)), withoutServerMeta(resource));
}

function withoutServerMeta(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const { meta, ...rest } = value;
  if (!isRecord(meta)) return meta === undefined ? rest : value;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...kept } = meta;
  return Object.keys(kept).length === 0 ? rest : { ...rest, meta: kept };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  if (!isRecord(a) || !isRecord(b) || Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
}
