/**
 * Rewrites references between the entries of a transaction (http://hl7.org/fhir/R4/bundle.html#references):
 * a `reference` equal to another entry's fullUrl (usually `urn:uuid:…`) becomes `Type/id` of the id
 * the server assigned. A `urn:uuid:` that no entry defines is an error: it could never resolve.
 */
import { type FhirResource, fhirError, isRecord } from '@concordia/fhir';

export type ReferenceMap = ReadonlyMap<string, string>;

export function rewriteReferences(
  resource: FhirResource,
  targets: ReferenceMap,
  where: string,
): FhirResource {
  const rewritten = rewrite(resource, targets, where);
  return isRecord(rewritten) ? { ...rewritten, resourceType: resource.resourceType } : resource;
}

/**
 * Copies only what holds a rewritten reference: an object or array with none below it is the
 * original, shared. A Synthea record's entries are mostly codes and values, so this copies a
 * fraction of each resource and leaves less for the garbage collector (the ingest benchmark).
 */
function rewrite(value: unknown, targets: ReferenceMap, where: string): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const rewritten = rewrite(item, targets, where);
      if (rewritten === item) continue;
      copy ??= [...value];
      copy[index] = rewritten;
    }
    return copy ?? value;
  }
  if (!isRecord(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const child = value[key];
    const rewritten =
      key === 'reference' && typeof child === 'string'
        ? resolve(child, targets, where)
        : rewrite(child, targets, where);
    if (rewritten === child) continue;
    copy ??= { ...value };
    copy[key] = rewritten;
  }
  return copy ?? value;
}

function resolve(reference: string, targets: ReferenceMap, where: string): string {
  const target = targets.get(reference);
  if (target !== undefined) return target;
  if (reference.startsWith('urn:uuid:')) {
    throw fhirError(
      'invalid',
      'not-found',
      `${where} refers to ${reference}, which no entry of the transaction defines`,
      [where],
    );
  }
  return reference;
}
