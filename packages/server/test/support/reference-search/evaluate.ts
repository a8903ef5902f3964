/**
 * A reference implementation of FHIR R4 search (http://hl7.org/fhir/R4/search.html) over an
 * in-memory dataset, for differential tests of the real search: it shares nothing with the
 * server's parser, index or SQL, only the SearchParameter definitions (code, type, expression,
 * targets). Parameters are ANDed, comma-separated values ORed (search.html#combining); chains
 * (#chaining) resolve each reference in the dataset, `_has` (#has) looks for resources pointing
 * back. Each parameter type is a matcher module (matchers/).
 */
import {
  type FhirResource,
  type IdentifiedResource,
  r4SearchParameters,
  type SearchParameterDefinition,
  type SearchParameterRegistry,
} from '@concordia/fhir';
import { literalTarget, type ReferenceDataset } from './dataset.ts';
import { splitUnescaped } from './escaping.ts';
import { matcherFor } from './matchers/index.ts';
import type { MatchContext } from './matchers/matcher.ts';
import { referenceText } from './matchers/reference.ts';
import { ValueSelector } from './select-values.ts';

export class ReferenceSearch {
  readonly selector: ValueSelector;
  /** `SourceType|param` → `Type/id` of a target → the sources pointing at it, built on first use. */
  private readonly pointingAt = new Map<string, Map<string, IdentifiedResource[]>>();

  constructor(
    readonly dataset: ReferenceDataset,
    readonly registry: SearchParameterRegistry = r4SearchParameters(),
  ) {
    this.selector = new ValueSelector(dataset);
  }

  /** Ids of the `resourceType` resources matching every pair, sorted. */
  ids(resourceType: string, pairs: readonly [string, string][], context: MatchContext): string[] {
    return this.dataset
      .ofType(resourceType)
      .filter((resource) => pairs.every(([name, value]) => this.matches(resource, name, value, context)))
      .map((resource) => resource.id)
      .sort();
  }

  /** Whether `resource` matches the one parameter `name=value`. */
  matches(resource: FhirResource, name: string, value: string, context: MatchContext): boolean {
    if (name.startsWith('_has:')) return this.hasMatches(resource, name, value, context);
    const dot = name.indexOf('.');
    if (dot >= 0) return this.chainMatches(resource, name.slice(0, dot), name.slice(dot + 1), value, context);
    const [code = '', modifier] = name.split(':');
    const definition = this.definition(resource.resourceType, code);
    const matcher = matcherFor(definition.type);
    if (matcher === undefined) throw new Error(`no reference matcher for ${definition.type} parameters`);
    const values = this.selector.select(resource, definition);
    if (modifier === 'missing') return (value === 'true') !== matcher.hasValue(values);
    if (modifier !== undefined && !matcher.modifiers.includes(modifier) && !matcher.modifiers.includes('*')) {
      throw new Error(`the reference matcher for ${definition.type} does not know :${modifier}`);
    }
    return matcher.matches(values, splitUnescaped(value, ','), modifier, context);
  }

  /** `subject:Patient.name=x`: some reference of `subject` names a resource in the set matching `name=x`. */
  private chainMatches(
    resource: FhirResource,
    head: string,
    innerName: string,
    value: string,
    context: MatchContext,
  ): boolean {
    const [code = '', typeModifier] = head.split(':');
    const definition = this.definition(resource.resourceType, code);
    const innerCode = innerName.split(/[:.]/)[0] ?? '';
    return this.selector.select(resource, definition).some((selected) => {
      const text = referenceText(selected);
      const target = text === undefined ? undefined : this.dataset.resolve(text);
      if (target === undefined) return false;
      if (typeModifier !== undefined && target.resourceType !== typeModifier) return false;
      if (!definition.targets.includes(target.resourceType)) return false;
      if (this.registry.get(target.resourceType, innerCode) === undefined) return false;
      return this.matches(target, innerName, value, context);
    });
  }

  /** `_has:Observation:patient:code=x`: some Observation whose `patient` is this resource has `code=x`. */
  private hasMatches(resource: FhirResource, name: string, value: string, context: MatchContext): boolean {
    const [, sourceType = '', referenceParam = '', ...inner] = name.split(':');
    const key = `${resource.resourceType}/${String(resource.id)}`;
    const sources = this.sourcesPointingAt(sourceType, referenceParam).get(key) ?? [];
    return sources.some((source) => this.matches(source, inner.join(':'), value, context));
  }

  private sourcesPointingAt(sourceType: string, referenceParam: string): Map<string, IdentifiedResource[]> {
    const cacheKey = `${sourceType}|${referenceParam}`;
    const cached = this.pointingAt.get(cacheKey);
    if (cached !== undefined) return cached;
    const definition = this.definition(sourceType, referenceParam);
    const index = new Map<string, IdentifiedResource[]>();
    for (const source of this.dataset.ofType(sourceType)) {
      const targets = new Set<string>();
      for (const selected of this.selector.select(source, definition)) {
        const text = referenceText(selected);
        const target = text === undefined ? undefined : literalTarget(text);
        if (target !== undefined) targets.add(`${target.type}/${target.id}`);
      }
      for (const target of targets) index.set(target, [...(index.get(target) ?? []), source]);
    }
    this.pointingAt.set(cacheKey, index);
    return index;
  }

  definition(resourceType: string, code: string): SearchParameterDefinition {
    const definition = this.registry.get(resourceType, code);
    if (definition === undefined) throw new Error(`${resourceType} has no search parameter '${code}'`);
    return definition;
  }
}
