/**
 * Where a Reference points, read from the reference itself
 * (http://hl7.org/fhir/R4/references.html#literal): `Patient/123`, `Patient/123/_history/2`, or an
 * absolute URL ending in `Patient/123`. Contained (`#p1`) and `urn:uuid:`/`urn:oid:` references
 * name no server resource and have no target here.
 */

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
