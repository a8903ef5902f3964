/**
 * Turns one parsed value into the FHIR interactions that load it:
 * - a `transaction` or `batch` Bundle is posted to the base as it is, so that the core resolves
 *   its `urn:uuid:` references and applies it atomically (transaction) or per entry (batch);
 * - any other Bundle (collection, searchset, document, …) contributes each `entry.resource`;
 * - a resource with an id is PUT to `Type/id`, so that importing the same file again updates the
 *   same resources instead of duplicating them; one without an id is POSTed to `Type`.
 */
import { isRecord, isValidId } from '@concordia/fhir';
import type { FhirRequest } from '../fhir/interaction.ts';
import type { ItemLocation } from './import-item.ts';

export type ImportUnit =
  | {
      kind: 'bundle';
      bundleType: 'transaction' | 'batch';
      location: ItemLocation;
      request: FhirRequest;
      /** Entries in the Bundle: what a transaction writes when it succeeds. */
      entryCount: number;
    }
  | { kind: 'resource'; location: ItemLocation; request: FhirRequest }
  | { kind: 'rejected'; location: ItemLocation; reason: string };

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

export function importUnits(value: unknown, location: ItemLocation): ImportUnit[] {
  if (!isRecord(value)) return [rejected(location, 'not a JSON object (a FHIR resource or Bundle)')];
  if (value.resourceType === 'Bundle') {
    const bundleType = value.type;
    if (bundleType === 'transaction' || bundleType === 'batch') {
      const entries = Array.isArray(value.entry) ? value.entry.length : 0;
      return [
        { kind: 'bundle', bundleType, location, request: request('POST', '', value), entryCount: entries },
      ];
    }
    return bundleEntryUnits(value.entry, location);
  }
  return [resourceUnit(value, location)];
}

function bundleEntryUnits(entries: unknown, location: ItemLocation): ImportUnit[] {
  if (entries === undefined) return [];
  if (!Array.isArray(entries)) return [rejected(location, 'Bundle.entry is not an array')];
  return entries.map((entry: unknown, index) => {
    const entryLocation = { ...location, entry: index };
    if (!isRecord(entry) || entry.resource === undefined)
      return rejected(entryLocation, 'the entry has no resource');
    return isRecord(entry.resource)
      ? resourceUnit(entry.resource, entryLocation)
      : rejected(entryLocation, 'entry.resource is not a JSON object');
  });
}

function resourceUnit(resource: Record<string, unknown>, location: ItemLocation): ImportUnit {
  const { resourceType, id } = resource;
  if (typeof resourceType !== 'string') return rejected(location, 'the resource has no resourceType');
  if (!RESOURCE_TYPE.test(resourceType))
    return rejected(location, `"${resourceType}" is not a resource type`);
  if (id === undefined)
    return { kind: 'resource', location, request: request('POST', resourceType, resource) };
  if (typeof id !== 'string' || !isValidId(id)) {
    return rejected(location, `${resourceType}.id ${JSON.stringify(id)} is not a valid FHIR id`);
  }
  // Re-running an import leaves unchanged resources at their version (fhir/unchanged-content.ts).
  return {
    kind: 'resource',
    location,
    request: { ...request('PUT', `${resourceType}/${id}`, resource), skipUnchanged: true },
  };
}

function request(method: 'POST' | 'PUT', path: string, body: unknown): FhirRequest {
  return {
    method,
    path,
    query: [],
    headers: { contentType: 'application/fhir+json', prefer: 'return=minimal' },
    body,
  };
}

function rejected(location: ItemLocation, reason: string): ImportUnit {
  return { kind: 'rejected', location, reason };
}
