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

/** Where tokens come from and whether the API demands them (the SMART `oauth-uris` extension). */
export interface CapabilitySecurity {
  /** Requests without a valid bearer token are refused (`CONCORDIA_AUTH=required`). */
  required: boolean;
  authorize: string;
  token: string;
  revoke: string;
  introspect: string;
}

/**
 * `rest.security` as SMART App Launch asks (https://hl7.org/fhir/smart-app-launch/conformance.html):
 * the SMART-on-FHIR service and the OAuth endpoints in the `oauth-uris` extension.
 */
function securityElement(security: CapabilitySecurity): Record<string, unknown> {
  const uri = (url: string, valueUri: string) => ({ url, valueUri });
  return {
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          uri('authorize', security.authorize),
          uri('token', security.token),
          uri('revoke', security.revoke),
          uri('introspect', security.introspect),
        ],
      },
    ],
    service: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
        ],
        text: 'OAuth 2.0 with the SMART App Launch profile',
      },
    ],
  };
}

export function capabilityStatement(
  config: CoreConfig,
  fhirBase: string,
  software: SoftwareInfo,
  operations: readonly FhirOperation[] = [],
  registry: SearchParameterRegistry = r4SearchParameters(),
  security?: CapabilitySecurity,
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
        documentation: `${
          security?.required === true
            ? 'Requests need a bearer token whose SMART scopes allow them.'
            : 'Open development mode: requests are not authenticated.'
        } Search supports the parameters listed per type; see docs/search.md for modifiers and limits.`,
        ...(security !== undefined ? { security: securityElement(security) } : {}),
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
