/**
 * Where a Reference points, read from the reference itself
 * (http://hl7.org/fhir/R4/references.html#literal): `Patient/123`, `Patient/123/_history/2`, or an
 * absolute URL ending in `Patient/123`. `urn:uuid:`/`urn:oid:` references name no server resource
 * and have no target here; contained ones (`#p1`) have a local target (containedTarget).
 */
import { isRecord } from '../resource.ts';

export interface ReferenceTarget {
  type: string;
  id: string;
}

const LITERAL_REFERENCE =
  /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/[^?#]*\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * @param isResourceType keeps `Type` honest: `http://example.org/a/b` must not read as type `a`.
 */
export function referenceTarget(
  reference: string,
  isResourceType: (type: string) => boolean,
): ReferenceTarget | undefined {
  const match = LITERAL_REFERENCE.exec(reference);
  const type = match?.[1];
  const id = match?.[2];
  return type && id && isResourceType(type) ? { type, id } : undefined;
}

/** The type of a contained target that the container does not hold (a dangling `#p1`). */
export const UNRESOLVED_CONTAINED_TYPE = 'Resource';

/**
 * A reference to a resource contained in `container` (references.html#contained): `#p1`, or `#`
 * for the container itself. It is a value, so `:missing` must see it (search.html#missing), but it
 * names no server resource: its id keeps the `#`, which no resource id can hold
 * (datatypes.html#id), so no `Type/id` search, chain, include or compartment can join to it.
 */
export function containedTarget(reference: string, container: unknown): ReferenceTarget | undefined {
  if (!reference.startsWith('#')) return undefined;
  return { type: containedType(reference.slice(1), container), id: reference };
}

function containedType(localId: string, container: unknown): string {
  if (!isRecord(container)) return UNRESOLVED_CONTAINED_TYPE;
  if (localId === '')
    return typeof container.resourceType === 'string' ? container.resourceType : UNRESOLVED_CONTAINED_TYPE;
  const contained = Array.isArray(container.contained) ? container.contained : [];
  const found = contained.find((resource) => isRecord(resource) && resource.id === localId);
  return isRecord(found) && typeof found.resourceType === 'string'
    ? found.resourceType
    : UNRESOLVED_CONTAINED_TYPE;
}

/** Whether an indexed target is a contained resource, which belongs to no compartment. */
export function isContainedTargetId(targetId: string): boolean {
  return targetId.startsWith('#');
}
