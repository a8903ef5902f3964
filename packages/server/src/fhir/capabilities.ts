/**
 * capabilities — http://hl7.org/fhir/R4/http.html#capabilities. The statement is derived from the
 * routes this core actually serves, so it cannot claim an interaction that is not implemented.
 */
import {
  type FhirResource,
  hasIndexedShape,
  r4SearchParameters,
  resourceTypes,
  type SearchParameterDefinition,
  type SearchParameterRegistry,
} from '@concordia/fhir';
import {
  isSearchableParameter,
  isSortableParameter,
  searchModifiers,
  TEXT_SEARCH_PARAMETERS,
} from '../store/search/search-support.ts';
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

/** What the search can do besides what the registry says (the terminology modifiers need a service). */
export interface SearchFeatures {
  terminology: boolean;
}

/** Chains (search.html#chaining) and `_has` nest at most this deep (parse-filter.ts). */
const MAX_CHAIN_DEPTH = 4;

type SearchParamEntry = { name: string; type: string; definition?: string; documentation: string };

/**
 * The parameters of `type` the store can search (store/search/search-support.ts), from the
 * registry; a custom parameter still being indexed is not searchable yet and not listed.
 */
function searchableParameters(registry: SearchParameterRegistry, type: string): SearchParameterDefinition[] {
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
    );
}

/**
 * `searchParam.documentation` (markdown): the modifiers this server accepts on the parameter,
 * whether `_sort` takes it, and for references how they chain. R4 has no element for modifiers or
 * chains (`searchParam.chain` is not in R4), so the documentation carries them.
 */
function parameterEntry(parameter: SearchParameterDefinition, features: SearchFeatures): SearchParamEntry {
  const modifiers = searchModifiers(parameter, features);
  const parts = [
    modifiers.length === 0
      ? 'Modifiers: none.'
      : `Modifiers: ${modifiers.map((modifier) => `\`:${modifier}\``).join(', ')}.`,
  ];
  if (parameter.type === 'reference') {
    parts.push(
      `Chainable (\`${parameter.code}.[parameter]\`, \`${parameter.code}:[type].[parameter]\`) to ${MAX_CHAIN_DEPTH} levels, and the target of \`_has\`.`,
    );
  }
  parts.push(isSortableParameter(parameter) ? 'Sortable with `_sort`.' : 'Not sortable.');
  return {
    name: parameter.code,
    type: parameter.type,
    ...(parameter.url !== undefined ? { definition: parameter.url } : {}),
    documentation: parts.join(' '),
  };
}

/**
 * `Parameters` derives from Resource alone: its parameters are the ones every type has, which a
 * system search without `_type` accepts (parse-search.ts).
 */
const RESOURCE_LEVEL_TYPE = 'Parameters';

/** search.html#all and #return: what every search accepts besides the resource's own parameters. */
const GENERAL_SEARCH_PARAMETERS: readonly SearchParamEntry[] = [
  {
    name: '_type',
    type: 'token',
    documentation: 'System search: the resource types to search, comma-separated.',
  },
  {
    name: '_list',
    type: 'token',
    documentation:
      'A List by id, or `$current-allergies`, `$current-problems`, `$current-medications` of the patient in context.',
  },
  {
    name: '_has',
    type: 'string',
    documentation: `Reverse chaining \`_has:Type:reference:parameter=value\`, nested to ${MAX_CHAIN_DEPTH} levels.`,
  },
  {
    name: '_count',
    type: 'number',
    documentation: 'Page size; default and maximum are the server configuration (20 and 1000 by default).',
  },
  {
    name: '_sort',
    type: 'string',
    documentation:
      'Comma-separated keys, `-` for descending, on the parameters documented as sortable; `near` sorts by distance.',
  },
  { name: '_total', type: 'token', documentation: '`none` (default), `estimate`, `accurate`.' },
  { name: '_summary', type: 'token', documentation: '`true`, `text`, `data`, `count`, `false`.' },
  { name: '_elements', type: 'string', documentation: 'Top-level element names to return.' },
  {
    name: '_include',
    type: 'string',
    documentation: `\`Type:parameter[:target]\`, \`Type:*\`, \`*\`; \`:iterate\` follows up to ${MAX_CHAIN_DEPTH} levels.`,
  },
  {
    name: '_revinclude',
    type: 'string',
    documentation: `\`Type:parameter[:target]\`, \`Type:*\`, \`*\`; \`:iterate\` follows up to ${MAX_CHAIN_DEPTH} levels.`,
  },
  {
    name: '_contained',
    type: 'token',
    documentation: '`false` (default), `true` (only contained resources match), `both`.',
  },
  {
    name: '_containedType',
    type: 'token',
    documentation:
      "`container` (default: the containing resource is returned), `contained` (the contained resource alone, its fullUrl the container's with `#id`).",
  },
];

/** `Source:param` of every reference parameter that may point at each type (searchRevInclude). */
function reverseIncludes(registry: SearchParameterRegistry, types: readonly string[]): Map<string, string[]> {
  const byTarget = new Map<string, string[]>();
  for (const source of types) {
    for (const parameter of searchableParameters(registry, source)) {
      if (parameter.type !== 'reference') continue;
      for (const target of parameter.targets) {
        const list = byTarget.get(target) ?? [];
        list.push(`${source}:${parameter.code}`);
        byTarget.set(target, list);
      }
    }
  }
  return byTarget;
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
  features: SearchFeatures = { terminology: false },
): FhirResource {
  const types = resourceTypes();
  const revIncludes = reverseIncludes(registry, types);
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
    // Bulk Data Access IG §capability-statement: the server declares it implements bulk export.
    instantiates: ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'],
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
        resource: types.map((type) => {
          const parameters = searchableParameters(registry, type);
          return {
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
            ...nonEmpty('searchInclude', [
              '*',
              ...parameters
                .filter((parameter) => parameter.type === 'reference')
                .map((parameter) => `${type}:${parameter.code}`),
            ]),
            ...nonEmpty('searchRevInclude', revIncludes.get(type) ?? []),
            ...nonEmpty(
              'searchParam',
              parameters.map((parameter) => parameterEntry(parameter, features)),
            ),
            ...nonEmpty(
              'operation',
              operations.filter((operation) => appliesTo(operation, type)).map(listed),
            ),
          };
        }),
        // search.html#all and #return: parameters of every type (system search without `_type`)
        // and the result parameters; each type's own are listed under its resource.
        searchParam: [
          ...searchableParameters(registry, RESOURCE_LEVEL_TYPE).map((parameter) =>
            parameterEntry(parameter, features),
          ),
          ...GENERAL_SEARCH_PARAMETERS,
        ],
        interaction: SYSTEM_INTERACTIONS.map((code) => ({ code })),
        ...nonEmpty('operation', operations.filter((operation) => operation.system === true).map(listed)),
      },
    ],
  };
}
