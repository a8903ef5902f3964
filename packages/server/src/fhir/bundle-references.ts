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

function rewrite(value: unknown, targets: ReferenceMap, where: string): unknown {
  if (Array.isArray(value)) return value.map((item) => rewrite(item, targets, where));
  if (!isRecord(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    copy[key] =
      key === 'reference' && typeof child === 'string'
        ? resolve(child, targets, where)
        : rewrite(child, targets, where);
  }
  return copy;
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
