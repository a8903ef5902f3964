/**
 * One `name=value` pair of a search as a filter on a resource type: a plain parameter with its
 * modifier, a chain (`subject:Patient.name=x`, search.html#chaining) or a reverse chain
 * (`_has:Observation:patient:code=x`, search.html#has), nested to any depth up to `MAX_DEPTH`.
 */
import { FhirError } from '../../outcome.ts';
import type { SearchParameterRegistry } from '../search-parameters.ts';
import { compositeFilter } from './composite-filter.ts';
import { type FilterContext, valueFilter } from './filter-values.ts';
import { LIST_PARAMETER, listFilter } from './list-filter.ts';
import { nearFilter } from './near-filter.ts';
import { beingIndexed, malformed, unsupported } from './parameter-issue.ts';
import type { SearchFilter } from './search-query.ts';
import { textFilter } from './text-query.ts';

/** Deeper chains are almost certainly mistakes and each level is a join. */
const MAX_DEPTH = 4;

export function parseFilter(
  registry: SearchParameterRegistry,
  resourceType: string,
  name: string,
  value: string,
  written = name,
  depth = 0,
): SearchFilter {
  if (depth > MAX_DEPTH)
    throw unsupported(written, `Chains deeper than ${MAX_DEPTH} levels are not supported`);
  if (name.startsWith('_has:')) return hasFilter(registry, resourceType, name, value, written, depth);
  const dot = name.indexOf('.');
  if (dot >= 0) return chainFilter(registry, resourceType, name, dot, value, written, depth);
  const [code = '', modifier, ...rest] = name.split(':');
  if (code.length === 0) throw malformed(written, `Search parameter name is empty in '${written}'`);
  if (rest.length > 0) throw malformed(written, `Search parameter '${written}' has more than one modifier`);
  if (code === LIST_PARAMETER) return listFilter(written, modifier, value);
  const definition = registry.get(resourceType, code);
  if (definition === undefined) {
    throw malformed(written, `Unknown search parameter '${code}' for ${resourceType}`);
  }
  if (definition.indexing === true) throw beingIndexed(written, code, resourceType);
  if (code === '_text' || code === '_content') return textFilter(written, code, modifier, value);
  if (definition.expression === undefined && code !== '_id' && code !== '_lastUpdated') {
    throw unsupported(written, `Search parameter '${code}' is not supported yet`);
  }
  const context: FilterContext = {
    parameter: written,
    definition,
    ...(modifier !== undefined ? { modifier } : {}),
    isResourceType: (type) => registry.isResourceType(type),
  };
  if (definition.type === 'composite') {
    return compositeFilter(context, value, (url) => registry.typeOfDefinition(url));
  }
  if (definition.type === 'special') return nearFilter(context, value);
  return valueFilter(context, value);
}

function chainFilter(
  registry: SearchParameterRegistry,
  resourceType: string,
  name: string,
  dot: number,
  value: string,
  written: string,
  depth: number,
): SearchFilter {
  const [code = '', typeModifier, ...rest] = name.slice(0, dot).split(':');
  const innerName = name.slice(dot + 1);
  if (rest.length > 0) throw malformed(written, `Chained parameter '${written}' has more than one modifier`);
  const definition = registry.get(resourceType, code);
  if (definition === undefined)
    throw malformed(written, `Unknown search parameter '${code}' for ${resourceType}`);
  if (definition.indexing === true) throw beingIndexed(written, code, resourceType);
  if (definition.type !== 'reference') {
    throw malformed(written, `Only reference parameters can be chained; '${code}' is a ${definition.type}`);
  }
  if (typeModifier !== undefined && !definition.targets.includes(typeModifier)) {
    throw malformed(written, `'${typeModifier}' is not a target type of '${code}'`);
  }
  const candidates = typeModifier !== undefined ? [typeModifier] : definition.targets;
  // The chained parameter must mean the same on every target it is searched on.
  let inner: SearchFilter | undefined;
  let firstError: FhirError | undefined;
  const targetTypes: string[] = [];
  for (const target of candidates) {
    try {
      const parsed = parseFilter(registry, target, innerName, value, written, depth + 1);
      if (inner === undefined || inner.kind === parsed.kind) {
        inner ??= parsed;
        targetTypes.push(target);
      }
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      firstError ??= error;
    }
  }
  if (inner === undefined) {
    throw firstError ?? malformed(written, `'${code}' has no target type to chain '${innerName}' on`);
  }
  return { kind: 'chain', parameter: written, code, targetTypes, inner };
}

function hasFilter(
  registry: SearchParameterRegistry,
  resourceType: string,
  name: string,
  value: string,
  written: string,
  depth: number,
): SearchFilter {
  const [, sourceType = '', referenceParam = '', ...innerParts] = name.split(':');
  const innerName = innerParts.join(':');
  if (innerName.length === 0) {
    throw malformed(written, `'${written}' must read _has:Type:reference:parameter (search.html#has)`);
  }
  if (!registry.isResourceType(sourceType)) {
    throw malformed(written, `'${sourceType}' in '${written}' is not a resource type`);
  }
  const reference = registry.get(sourceType, referenceParam);
  if (reference?.type !== 'reference' || !reference.targets.includes(resourceType)) {
    throw malformed(written, `'${referenceParam}' of ${sourceType} is not a reference to ${resourceType}`);
  }
  const inner = parseFilter(registry, sourceType, innerName, value, written, depth + 1);
  return { kind: 'has', parameter: written, code: referenceParam, sourceType, referenceParam, inner };
}
