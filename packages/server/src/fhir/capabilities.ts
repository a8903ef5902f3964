/**
 * capabilities — http://hl7.org/fhir/R4/http.html#capabilities. The statement is derived from the
 * routes this core actually serves, so it cannot claim an interaction that is not implemented.
 */
import {
  type FhirResource,
  hasIndexedShape,
  r4SearchParameters,
  resourceTypes,
  type SearchParameterRegistry,
} from '@concordia/fhir';
import { isSearchableParameter, TEXT_SEARCH_PARAMETERS } from '../store/search/search-support.ts';
import type { CoreConfig } from './interaction-env.ts';
import type { FhirOperation } from './operations.ts';

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
  'search-type',
];
const SYSTEM_INTERACTIONS = ['transaction', 'batch', 'history-system', 'search-system'];

/**
 * The parameters of `type` the store can search (store/search/search-support.ts), from the
 * registry; a custom parameter still being indexed is not searchable yet and not listed.
 */
function searchParams(registry: SearchParameterRegistry, type: string): Record<string, string>[] {
  return registry
    .forType(type)
    .filter(
      (parameter) =>
        parameter.indexing !== true &&
        (parameter.expression !== undefined ||
          parameter.code === '_id' ||
          TEXT_SEARCH_PARAMETERS.has(parameter.code)) &&
        isSearchableParameter(parameter.code, parameter.type) &&
        hasIndexedShape(parameter, (url) => registry.typeOfDefinition(url)),
    )
    .map((parameter) => ({
      name: parameter.code,
      type: parameter.type,
      ...(parameter.url !== undefined ? { definition: parameter.url } : {}),
    }));
}

/** FHIR forbids empty arrays: the element is left out instead. */
function nonEmpty<T>(name: string, values: T[]): Record<string, T[]> {
  return values.length === 0 ? {} : { [name]: values };
}

export interface SoftwareInfo {
  name: string;
  version: string;
  releaseDate: string;
}

export function capabilityStatement(
  config: CoreConfig,
  fhirBase: string,
  software: SoftwareInfo,
  operations: readonly FhirOperation[] = [],
  registry: SearchParameterRegistry = r4SearchParameters(),
): FhirResource {
  const listed = (operation: FhirOperation) => ({
    name: operation.capabilityName ?? operation.name,
    definition: operation.definition,
  });
  const appliesTo = (operation: FhirOperation, type: string) =>
    [operation.type, operation.instance].some((scope) => scope === '*' || scope?.includes(type));
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
          'Open development mode: requests are not authenticated. Search supports the parameters listed per type; see docs/search.md for modifiers and limits.',
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
          searchInclude: searchParams(registry, type)
            .filter((parameter) => parameter.type === 'reference')
            .map((parameter) => `${type}:${parameter.name}`),
          searchParam: searchParams(registry, type),
          ...nonEmpty('operation', operations.filter((operation) => appliesTo(operation, type)).map(listed)),
        })),
        // search.html#Summary: the result parameters this server honours.
        searchParam: [
          { name: '_count', type: 'number' },
          { name: '_sort', type: 'string' },
          { name: '_total', type: 'token' },
        ],
        interaction: SYSTEM_INTERACTIONS.map((code) => ({ code })),
        ...nonEmpty('operation', operations.filter((operation) => operation.system === true).map(listed)),
      },
    ],
  };
}
