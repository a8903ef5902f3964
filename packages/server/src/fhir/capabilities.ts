/**
 * capabilities — http://hl7.org/fhir/R4/http.html#capabilities. The statement is derived from the
 * routes this core actually serves, so it cannot claim an interaction that is not implemented.
 */
import { type FhirResource, resourceTypes } from '@concordia/fhir';
import type { CoreConfig } from './interaction-env.ts';

/** Type-level interactions every resource type supports (valueset-type-restful-interaction). */
const TYPE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
];
const SYSTEM_INTERACTIONS = ['transaction', 'batch', 'history-system'];

export interface SoftwareInfo {
  name: string;
  version: string;
  releaseDate: string;
}

export function capabilityStatement(
  config: CoreConfig,
  fhirBase: string,
  software: SoftwareInfo,
): FhirResource {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: software.releaseDate,
    publisher: 'Concordia',
    kind: 'instance',
    software: { name: software.name, version: software.version, releaseDate: software.releaseDate },
    implementation: { description: 'Concordia health information exchange', url: fhirBase },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Open development mode: requests are not authenticated. Search (other than conditional criteria) is not yet available.',
        resource: resourceTypes().map((type) => ({
          type,
          profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
          interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: true,
          updateCreate: config.updateCreate,
          conditionalCreate: true,
          conditionalRead: 'full-support',
          conditionalUpdate: true,
          conditionalDelete: 'single',
        })),
        interaction: SYSTEM_INTERACTIONS.map((code) => ({ code })),
      },
    ],
  };
}
