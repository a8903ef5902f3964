/**
 * `ValueSet/$expand` — http://hl7.org/fhir/R4/valueset-operation-expand.html: "The definition of
 * a value set is used to create a simple collection of codes suitable for use for data entry or
 * validation." The value set is `url` (a stored or known ValueSet, `valueSetVersion` optional),
 * `valueSet` (in a POST body), or the stored one at instance level (`ValueSet/[id]/$expand`).
 * The answer is the ValueSet with an `expansion`: `total`, `offset`, the parameters that shaped
 * it, and `contains` (flat: the spec lets a server choose not to nest).
 */
import { randomUUID } from 'node:crypto';
import { fhirError } from '@concordia/fhir';
import type { ExpandRequest, Expansion, TerminologyService } from '../../terminology/terminology-service.ts';
import type { FhirResponse } from '../interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../interaction-env.ts';
import type { FhirOperation, OperationParameter } from '../operations.ts';
import { definitionUrl } from './operation-definitions.ts';
import {
  booleanParameter,
  integerParameter,
  missing,
  primitive,
  resourceParameter,
  resourceResponse,
  storedResource,
  terminologyParameters,
  versionedUrl,
} from './terminology-parameters.ts';

const NOT_SUPPORTED = 'is not supported by this server';

const UNSUPPORTED = {
  context: NOT_SUPPORTED,
  contextDirection: NOT_SUPPORTED,
  date: 'is not supported: value sets are expanded as they are now',
  includeDesignations: 'is not supported: use CodeSystem/$lookup for designations',
  designation: 'is not supported: use CodeSystem/$lookup for designations',
  includeDefinition: NOT_SUPPORTED,
  excludeNotForUI: NOT_SUPPORTED,
  'exclude-system': NOT_SUPPORTED,
  'system-version': NOT_SUPPORTED,
  'check-system-version': NOT_SUPPORTED,
  'force-system-version': NOT_SUPPORTED,
};

export function valueSetExpand(terminology: TerminologyService): FhirOperation {
  return {
    name: 'expand',
    definition: definitionUrl('ValueSet-expand'),
    type: ['ValueSet'],
    instance: ['ValueSet'],
    methods: ['GET', 'POST'],
    handler: (request, env) => expand(request, env, terminology),
  };
}

async function expand(
  request: RoutedRequest,
  env: InteractionEnv,
  terminology: TerminologyService,
): Promise<FhirResponse> {
  const parameters = terminologyParameters('ValueSet-expand', request, UNSUPPORTED);
  const { valueSet, definition } = await valueSetToExpand(request, env, parameters);
  const shaping = expansionShaping(parameters);
  const expansion = await terminology.expand(env.ctx, { valueSet, ...shaping });
  return resourceResponse({
    ...definition,
    resourceType: 'ValueSet',
    expansion: expansionElement(expansion, shaping),
  });
}

/**
 * What to expand, and the ValueSet the answer is built on: the stored or sent definition, or —
 * for a bare `url` — a ValueSet that names it.
 */
async function valueSetToExpand(
  request: RoutedRequest,
  env: InteractionEnv,
  parameters: readonly OperationParameter[],
): Promise<{ valueSet: string | Record<string, unknown>; definition: Record<string, unknown> }> {
  const url = primitive(parameters, 'url');
  const version = primitive(parameters, 'valueSetVersion');
  const sent = resourceParameter(parameters, 'valueSet', 'ValueSet');
  if (request.id !== undefined) {
    if (url !== undefined || sent !== undefined) {
      throw fhirError(
        'invalid',
        'invalid',
        `ValueSet/${request.id}/$expand expands that ValueSet: drop url and valueSet`,
        [url !== undefined ? 'url' : 'valueSet'],
      );
    }
    const stored = await storedResource(env, 'ValueSet', request.id);
    // By url the service can serve a cached expansion; a ValueSet without one is sent as it is.
    const valueSet =
      typeof stored.url === 'string' ? versionedUrl(stored.url, stringOf(stored.version)) : stored;
    return { valueSet, definition: withoutExpansion(stored) };
  }
  if (url !== undefined && sent !== undefined) {
    throw fhirError('invalid', 'invalid', 'Give url or valueSet, not both', ['valueSet']);
  }
  if (sent !== undefined) return { valueSet: sent, definition: withoutExpansion(sent) };
  if (url === undefined) missing('ValueSet/$expand', 'url or valueSet (or a ValueSet instance)', ['url']);
  const [canonical = url, canonicalVersion = version] = url.split('|');
  return {
    valueSet: versionedUrl(url, version),
    definition: {
      resourceType: 'ValueSet',
      url: canonical,
      ...(canonicalVersion !== undefined ? { version: canonicalVersion } : {}),
      status: 'active',
    },
  };
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function withoutExpansion(valueSet: Record<string, unknown>): Record<string, unknown> {
  const { expansion: _previous, ...definition } = valueSet;
  return definition;
}

type Shaping = Omit<ExpandRequest, 'valueSet'>;

function expansionShaping(parameters: readonly OperationParameter[]): Shaping {
  const filter = primitive(parameters, 'filter');
  const offset = integerParameter(parameters, 'offset');
  const count = integerParameter(parameters, 'count');
  const displayLanguage = primitive(parameters, 'displayLanguage');
  const activeOnly = booleanParameter(parameters, 'activeOnly');
  return {
    ...(filter !== undefined && filter.trim() !== '' ? { filter } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(count !== undefined ? { count } : {}),
    ...(displayLanguage !== undefined ? { displayLanguage } : {}),
    ...(activeOnly !== undefined ? { activeOnly } : {}),
  };
}

/** `ValueSet.expansion` (valueset-definitions.html#ValueSet.expansion). */
function expansionElement(expansion: Expansion, shaping: Shaping): Record<string, unknown> {
  // "The parameters that were used to create the expansion", as the spec's examples echo them.
  const parameter = [
    ...(shaping.filter !== undefined ? [{ name: 'filter', valueString: shaping.filter }] : []),
    ...(shaping.offset !== undefined ? [{ name: 'offset', valueInteger: shaping.offset }] : []),
    ...(shaping.count !== undefined ? [{ name: 'count', valueInteger: shaping.count }] : []),
    ...(shaping.displayLanguage !== undefined
      ? [{ name: 'displayLanguage', valueCode: shaping.displayLanguage }]
      : []),
    ...(shaping.activeOnly !== undefined ? [{ name: 'activeOnly', valueBoolean: shaping.activeOnly }] : []),
  ];
  return {
    identifier: `urn:uuid:${randomUUID()}`,
    timestamp: expansion.timestamp,
    total: expansion.total,
    offset: expansion.offset,
    ...(parameter.length > 0 ? { parameter } : {}),
    ...(expansion.contains.length > 0
      ? {
          contains: expansion.contains.map((entry) => ({
            system: entry.system,
            ...(entry.version !== undefined ? { version: entry.version } : {}),
            ...(entry.inactive === true ? { inactive: true } : {}),
            code: entry.code,
            ...(entry.display !== undefined ? { display: entry.display } : {}),
          })),
        }
      : {}),
  };
}
