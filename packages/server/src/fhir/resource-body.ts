/**
 * Turns a request body into a resource the core may store, with the errors of
 * http://hl7.org/fhir/R4/http.html#create / #update: 400 when it cannot be parsed or breaks basic
 * FHIR rules (unknown elements, wrong JSON types), 422 when the content is not acceptable
 * (required elements missing, values not matching their type).
 */
import {
  FhirError,
  type FhirResource,
  fhirError,
  isRecord,
  isValidId,
  validateResourceStructure,
} from '@concordia/fhir';

export function resourceFromBody(body: unknown, expectedType: string): FhirResource {
  if (body === undefined)
    throw fhirError('invalid', 'required', 'A FHIR resource is required in the request body');
  if (!isRecord(body))
    throw fhirError('invalid', 'structure', 'The request body must be a JSON object (a FHIR resource)');
  const resourceType = body.resourceType;
  if (typeof resourceType !== 'string') {
    throw fhirError('invalid', 'required', 'The resource has no resourceType', ['resourceType']);
  }
  if (resourceType !== expectedType) {
    throw fhirError(
      'invalid',
      'invalid',
      `The resource type ${resourceType} does not match the type in the URL (${expectedType})`,
      ['resourceType'],
    );
  }
  const resource: FhirResource = { ...body, resourceType };
  assertValidStructure(resource);
  return resource;
}

export function assertValidStructure(resource: FhirResource): void {
  const issues = validateResourceStructure(resource).filter(
    (i) => i.severity === 'error' || i.severity === 'fatal',
  );
  if (issues.length === 0) return;
  const unparseable = issues.some((i) => i.code === 'structure');
  throw new FhirError(unparseable ? 'invalid' : 'unprocessable', issues);
}

/** http.html#update: the body must carry the id of the URL. */
export function assertIdMatches(resource: FhirResource, id: string): void {
  if (resource.id === undefined) {
    throw fhirError(
      'invalid',
      'required',
      `The resource must have an id, and it must be ${id} (the id in the URL)`,
      [`${resource.resourceType}.id`],
    );
  }
  if (resource.id !== id) {
    throw fhirError(
      'invalid',
      'invalid',
      `The resource id ${String(resource.id)} does not match the id in the URL (${id})`,
      [`${resource.resourceType}.id`],
    );
  }
}

export function assertValidId(id: string): void {
  if (!isValidId(id)) {
    throw fhirError(
      'invalid',
      'invalid',
      `"${id}" is not a valid FHIR id (1–64 of A–Z, a–z, 0–9, "-" and ".")`,
    );
  }
}
