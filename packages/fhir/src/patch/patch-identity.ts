/**
 * A patch changes the content of one resource; it cannot turn it into another resource.
 * The core compares the result with the target as well, but saying so here lets the error name
 * the patch format and the element (http://hl7.org/fhir/R4/http.html#patch).
 */
import { fhirError } from '../outcome.ts';
import { type FhirResource, isRecord } from '../resource.ts';

export function assertSameIdentity(before: FhirResource, after: unknown, format: string): FhirResource {
  if (!isRecord(after) || typeof after.resourceType !== 'string') {
    throw fhirError('unprocessable', 'processing', `${format} must leave a resource with a resourceType`);
  }
  if (after.resourceType !== before.resourceType) {
    throw fhirError(
      'unprocessable',
      'processing',
      `${format} must not change resourceType (${before.resourceType} → ${after.resourceType})`,
      [`${before.resourceType}.resourceType`],
    );
  }
  if (after.id !== before.id) {
    throw fhirError(
      'unprocessable',
      'processing',
      `${format} must not change the id of ${before.resourceType}/${before.id ?? '(none)'}`,
      [`${before.resourceType}.id`],
    );
  }
  return { ...after, resourceType: after.resourceType };
}
