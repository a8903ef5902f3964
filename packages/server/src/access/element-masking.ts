/**
 * The element half of the access decision (DESIGN.md rule 2): where a role may see a resource but
 * not all of it — a pharmacist sees the minimum of a Patient needed to dispense — the core masks
 * what it sends the way `_elements` would (search.html#elements: id, meta and mandatory elements
 * stay, the result is tagged SUBSETTED). Masking is applied once, to the response of the request
 * (every resource of a Bundle, transaction and batch responses included), and to bulk export lines.
 */
import { type FhirResource, isRecord, selectElements } from '@concordia/fhir';
import type { ElementMasks } from './access-policy.ts';

/** The resource with the elements its type's mask allows; untouched when its type has no mask. */
export function maskResource(resource: FhirResource, masks: ElementMasks): FhirResource {
  const mask = masks.get(resource.resourceType);
  if (mask !== undefined) return selectElements(resource, mask);
  if (resource.resourceType !== 'Bundle' || !Array.isArray(resource.entry)) return resource;
  return {
    ...resource,
    entry: resource.entry.map((entry: unknown) => {
      if (!isRecord(entry) || !isRecord(entry.resource) || typeof entry.resource.resourceType !== 'string') {
        return entry;
      }
      const inner: FhirResource = { ...entry.resource, resourceType: entry.resource.resourceType };
      return { ...entry, resource: maskResource(inner, masks) };
    }),
  };
}

/** Serialised JSON masked; returned as is when nothing in it can be masked. */
export function maskJson(json: string, masks: ElementMasks): string {
  if (![...masks.keys()].some((type) => json.includes(`"${type}"`))) return json;
  const value: unknown = JSON.parse(json);
  if (!isRecord(value) || typeof value.resourceType !== 'string') return json;
  return JSON.stringify(maskResource({ ...value, resourceType: value.resourceType }, masks));
}

type ResponseBody =
  | { kind: 'resource'; resource: FhirResource }
  | { kind: 'json'; json: string; contentType?: string };

/** A response body as the principal may see it (`decideAccess(ctx, …).masks`). */
export function maskBody<B extends ResponseBody | undefined>(body: B, masks: ElementMasks): B | ResponseBody {
  if (body === undefined || masks.size === 0) return body;
  if (body.kind === 'resource') return { kind: 'resource', resource: maskResource(body.resource, masks) };
  if (body.contentType !== undefined) return body;
  return { kind: 'json', json: maskJson(body.json, masks) };
}
