/**
 * What a resource contributes to the search index and the Patient compartment, computed on every
 * write from the search parameters' FHIRPath expressions (http://hl7.org/fhir/R4/search.html).
 *
 * Each expression is compiled once per (resource type, registry version) and evaluated with
 * fhirpath.js against the R4 model, so choice types (`value as Quantity`) and element types are
 * the spec's. Every parameter type is evaluated; of the special ones, only the `nearby` kind
 * (Location `near`: positions). A composite's components are evaluated on each item its expression
 * selects (index-composite.ts). An alternative of an expression whose starting
 * elements are absent from the resource is not evaluated at all (see presence-guard.ts), which
 * more than halves the cost for a typical Observation.
 */
import fhirpath, { type UserInvocationTable } from 'fhirpath';
import { type FhirResource, isRecord } from '../resource.ts';
import { type CompartmentDefinition, patientCompartmentDefinition } from './compartments.ts';
import { type CompositeValueType, compositeComponents } from './composite-components.ts';
import { elementPath, type RefersTo, relativeElementPath } from './element-path.ts';
import { evaluableExpression, REFERS_TO_FUNCTION, splitUnion } from './expression.ts';
import { r4Model } from './fhir-model.ts';
import { componentEntries, compositeEntries, positionEntries } from './index-composite.ts';
import { dateEntries } from './index-dates.ts';
import { numberEntries, quantityEntries } from './index-numbers.ts';
import { textEntry } from './index-texts.ts';
import {
  CONTAINED_RESOURCE_PARAM,
  type CompositeValueEntry,
  containedParam,
  type ResourceIndex,
} from './index-types.ts';
import {
  identifierOfTypeEntries,
  referenceEntries,
  referenceIdentifierEntries,
  stringEntries,
  type TypedValue,
  tokenEntries,
  tokenTextEntries,
  typedValues,
  uriEntries,
} from './index-values.ts';
import { itemPresenceGuard, type PresenceGuard, presenceGuard } from './presence-guard.ts';
import { isContainedTargetId, referenceTarget } from './reference-target.ts';
import {
  r4SearchParameters,
  type SearchParameterDefinition,
  type SearchParameterRegistry,
} from './search-parameters.ts';

const INDEXED_TYPES = ['token', 'string', 'reference', 'date', 'number', 'quantity', 'uri'] as const;

type IndexedType = (typeof INDEXED_TYPES)[number];

type CompiledParameter =
  /** `position`: a special parameter with xpathUsage `nearby` (Location `near`). */
  | (CompiledExpression & { type: IndexedType | 'position' })
  | (CompiledExpression & { type: 'composite'; composite: CompiledComposite });

interface CompiledExpression {
  code: string;
  /** The top-level alternatives of the expression (`a | b`), each evaluated on its own. */
  alternatives: CompiledAlternative[];
}

/** A composite's components, each evaluated on one item of the composite's expression. */
interface CompiledComposite {
  components: CompiledComponent[];
}

interface CompiledComponent {
  type: CompositeValueType;
  /** Type and expression: components with the same key select the same entries from an item. */
  key: string;
  evaluate: Evaluate;
}

/**
 * Component entries already computed in one `index` call, by item JSON and component key:
 * `code-value-quantity` and `combo-code-value-quantity` read the same `code` and `value` of the
 * same Observation, `combo-` and `component-` the same components.
 */
type ComponentMemo = Map<unknown, Map<string, CompositeValueEntry[]>>;

/** `input` is the resource, or an item a previous evaluation selected (a fhirpath.js ResourceNode). */
type Evaluate = (input: unknown, resource: FhirResource) => unknown[];

interface CompiledAlternative {
  /** Absent: always evaluate (see presenceGuard). */
  isPresent?: PresenceGuard;
  evaluate: (resource: FhirResource) => unknown[];
}

interface CompiledType {
  registryVersion: number;
  parameters: CompiledParameter[];
}

/**
 * Parameters the store answers from the resource row itself (its id and its `last_updated`
 * column): indexing them again would add a row per write that no search reads. The store's
 * search SQL uses this same set.
 */
export const ROW_SEARCH_PARAMETERS: ReadonlySet<string> = new Set(['_id', '_lastUpdated']);

export class ResourceIndexer {
  private readonly compiled = new Map<string, CompiledType>();
  private readonly isResourceType: (type: string) => boolean;
  private readonly refersToType: RefersTo;
  private readonly functions: UserInvocationTable;

  constructor(
    private readonly registry: SearchParameterRegistry,
    private readonly patientCompartment: CompartmentDefinition,
  ) {
    this.isResourceType = (type) => registry.isResourceType(type);
    this.refersToType = refersTo(this.isResourceType);
    this.functions = {
      [REFERS_TO_FUNCTION]: {
        fn: (references: unknown[], type: unknown) =>
          references.map((reference) => typeof type === 'string' && this.refersToType(reference, type)),
        arity: { 1: ['String'] },
      },
    };
  }

  index(resource: FhirResource): ResourceIndex {
    const index = this.valuesOf(resource);
    const texts = textEntry(resource);
    if (texts !== undefined) index.texts = texts;
    this.addContained(index, resource);
    index.patientCompartments = this.patientCompartmentsOf(resource, index);
    return index;
  }

  /**
   * search.html#contained: each contained resource's values under `#<local id>:<param>` names,
   * and a row naming its type and local id, so `_contained=true` can match it. Contained resources hold no
   * contained resources (dom-2), so there is one level; their narrative is not indexed (dom-4:
   * they have none) and they make no compartment of their own.
   */
  private addContained(index: ResourceIndex, resource: FhirResource): void {
    const contained = Array.isArray(resource.contained) ? resource.contained : [];
    for (const item of contained) {
      if (!isRecord(item) || typeof item.id !== 'string' || typeof item.resourceType !== 'string') continue;
      if (!this.isResourceType(item.resourceType)) continue;
      const localId = item.id;
      const values = this.valuesOf(item as FhirResource);
      const rename = <T extends { param: string }>(entries: T[] | undefined): T[] =>
        (entries ?? []).map((entry) => ({ ...entry, param: containedParam(localId, entry.param) }));
      index.tokens.push(...rename(values.tokens));
      index.strings.push(...rename(values.strings));
      index.references.push(...rename(values.references));
      index.dates = appended(index.dates, rename(values.dates));
      index.numbers = appended(index.numbers, rename(values.numbers));
      index.quantities = appended(index.quantities, rename(values.quantities));
      index.uris = appended(index.uris, rename(values.uris));
      index.composites = appended(index.composites, rename(values.composites));
      index.positions = appended(index.positions, rename(values.positions));
      index.tokens.push({ param: CONTAINED_RESOURCE_PARAM, system: item.resourceType, code: localId });
    }
  }

  /** The values of every search parameter of the resource's type, without narrative or compartments. */
  private valuesOf(resource: FhirResource): ResourceIndex {
    const index: ResourceIndex = { tokens: [], strings: [], references: [], patientCompartments: [] };
    const memo: ComponentMemo = new Map();
    for (const parameter of this.parametersOf(resource.resourceType)) {
      let selected: unknown[] | undefined;
      for (const { isPresent, evaluate } of parameter.alternatives) {
        if (isPresent && !isPresent(resource)) continue;
        const results = evaluate(resource);
        if (results.length === 0) continue;
        if (selected) selected.push(...results);
        else selected = results;
      }
      if (!selected) continue;
      if (parameter.type === 'composite') this.addComposites(index, parameter, selected, resource, memo);
      else this.addEntries(index, parameter, typedValues(selected), resource);
    }
    return index;
  }

  private addEntries(
    index: ResourceIndex,
    parameter: CompiledParameter,
    values: TypedValue[],
    resource: FhirResource,
  ): void {
    const { code } = parameter;
    switch (parameter.type) {
      case 'token':
        index.tokens.push(...tokenEntries(code, values), ...identifierOfTypeEntries(code, values));
        index.strings.push(...tokenTextEntries(code, values));
        return;
      case 'string':
        index.strings.push(...stringEntries(code, values));
        return;
      case 'reference':
        index.references.push(...referenceEntries(code, values, this.isResourceType, resource));
        index.tokens.push(...referenceIdentifierEntries(code, values));
        return;
      case 'date':
        index.dates = appended(index.dates, dateEntries(code, values));
        return;
      case 'number':
        index.numbers = appended(index.numbers, numberEntries(code, values));
        return;
      case 'quantity':
        index.quantities = appended(index.quantities, quantityEntries(code, values));
        return;
      case 'uri':
        index.uris = appended(index.uris, uriEntries(code, values));
        return;
      case 'position':
        index.positions = appended(index.positions, positionEntries(code, values));
        return;
    }
  }

  /**
   * search.html#composite: every component is evaluated on the same item, so a row never pairs
   * values of two items. The last components (the values) are evaluated first: they are the
   * ones most often absent (`code-value-quantity` on an Observation with a string value), and an
   * absent component means the item has no row.
   */
  private addComposites(
    index: ResourceIndex,
    parameter: CompiledExpression & { composite: CompiledComposite },
    items: readonly unknown[],
    resource: FhirResource,
    memo: ComponentMemo,
  ): void {
    const { components } = parameter.composite;
    for (const item of items) {
      // Items are fhirpath.js ResourceNodes (their JSON is `data`), or the resource itself.
      const data = isRecord(item) && 'data' in item ? item.data : item;
      let known = memo.get(data);
      if (!known) {
        known = new Map();
        memo.set(data, known);
      }
      const entries: CompositeValueEntry[][] = [];
      for (let position = components.length - 1; position >= 0; position--) {
        const component = components[position];
        if (!component) break;
        let found = known.get(component.key);
        if (!found) {
          const results = component.evaluate(item, resource);
          found =
            results.length === 0
              ? []
              : componentEntries(component.type, typedValues(results), this.isResourceType, resource);
          known.set(component.key, found);
        }
        if (found.length === 0) break;
        entries[position] = found;
      }
      if (entries.length !== components.length || entries.some((found) => found === undefined)) continue;
      index.composites = appended(index.composites, compositeEntries(parameter.code, entries));
    }
  }

  /** http://hl7.org/fhir/R4/compartmentdefinition-patient.html; a Patient is in its own compartment. */
  private patientCompartmentsOf(resource: FhirResource, index: ResourceIndex): string[] {
    const params = new Set(this.patientCompartment.paramsFor(resource.resourceType));
    const ids = new Set<string>();
    if (resource.resourceType === this.patientCompartment.code && typeof resource.id === 'string') {
      ids.add(resource.id);
    }
    for (const reference of index.references) {
      // A contained Patient (`#p1`) is part of this resource, not a compartment of its own.
      if (isContainedTargetId(reference.targetId)) continue;
      if (reference.targetType === this.patientCompartment.code && params.has(reference.param)) {
        ids.add(reference.targetId);
      }
    }
    return [...ids];
  }

  private parametersOf(resourceType: string): CompiledParameter[] {
    const cached = this.compiled.get(resourceType);
    if (cached && cached.registryVersion === this.registry.version) return cached.parameters;
    const parameters = this.registry
      .forType(resourceType)
      .flatMap((definition) => this.compile(resourceType, definition));
    this.compiled.set(resourceType, { registryVersion: this.registry.version, parameters });
    return parameters;
  }

  private compile(resourceType: string, definition: SearchParameterDefinition): CompiledParameter[] {
    const { code, type, expression } = definition;
    if (!expression || ROW_SEARCH_PARAMETERS.has(code)) return [];
    const where = `Search parameter ${resourceType}.${code}`;
    // Each top-level alternative is evaluated on its own, behind its presence guard, and the
    // results concatenated: the `|` operator removes duplicates by FHIRPath equality, which throws
    // on a Quantity with a comparator (fhirpath.js), and the entry builders remove duplicates anyway.
    const alternatives = splitUnion(expression).map((alternative): CompiledAlternative => {
      // A composite over the resource itself (`Observation` of code-value-quantity) has the
      // resource as its one item: no evaluation needed to find it.
      if (type === 'composite' && alternative === resourceType) return { evaluate: (resource) => [resource] };
      const compiled = this.compileAlternative(where, alternative);
      const isPresent = presenceGuard(alternative, resourceType);
      // A plain element path reads the JSON directly, with fhirpath.js's very result (element-path.ts).
      const direct =
        type === 'composite'
          ? undefined
          : elementPath(evaluableExpression(alternative), resourceType, r4Model, this.refersToType);
      const evaluate = direct ?? ((resource: FhirResource) => compiled(resource, resource));
      return { ...(isPresent ? { isPresent } : {}), evaluate };
    });
    if (isIndexedType(type)) return [{ code, type, alternatives }];
    if (type === 'special' && definition.xpathUsage === 'nearby')
      return [{ code, type: 'position', alternatives }];
    if (type !== 'composite') return [];
    const components = compositeComponents(definition, (url) => this.registry.typeOfDefinition(url));
    if (!('shape' in components)) return [];
    const composite = {
      components: components.shape.map(({ type, expression }) => ({
        type,
        key: `${type} ${expression}`,
        evaluate: this.compileUnion(where, expression),
      })),
    };
    return [{ code, type, alternatives, composite }];
  }

  /** Each alternative of `expression` evaluated on its own and the results concatenated (see compile). */
  private compileUnion(where: string, expression: string): Evaluate {
    const alternatives = splitUnion(expression).map((alternative): Evaluate => {
      const compiled = this.compileAlternative(where, alternative);
      const direct = relativeElementPath(evaluableExpression(alternative), r4Model, this.refersToType);
      const evaluate: Evaluate =
        direct === undefined
          ? compiled
          : (input, resource) => {
              const item = itemOf(input);
              return (item && direct(item.path, item.data, item.extension)) ?? compiled(input, resource);
            };
      const isPresent = itemPresenceGuard(alternative);
      if (!isPresent) return evaluate;
      // Items are fhirpath.js ResourceNodes; their JSON is `data`.
      return (input, resource) =>
        isPresent(isRecord(input) && 'data' in input ? input.data : input) ? evaluate(input, resource) : [];
    });
    return (input, resource) => alternatives.flatMap((evaluate) => evaluate(input, resource));
  }

  private compileAlternative(where: string, alternative: string): Evaluate {
    const rewritten = evaluableExpression(alternative);
    if (/\bresolve\(\)/.test(rewritten)) {
      // Evaluating it would need a fetch inside the write transaction (see evaluableExpression).
      throw new Error(`${where}: unsupported use of resolve() in '${alternative}'`);
    }
    const compiled = fhirpath.compile(rewritten, r4Model, {
      resolveInternalTypes: false,
      userInvocationTable: this.functions,
    });
    // fhirpath.js keeps an input ResourceNode as it is, with its path and type, so relative paths
    // resolve on the item. `%resource` is the resource even when the input is an item of it
    // (MolecularSequence's composites read `%resource.referenceSeq.chromosome` from each variant);
    // it is passed only where used, as environment variables cost every evaluation a few µs.
    if (!rewritten.includes('%resource')) return (input) => compiled(input);
    return (input, resource) => compiled(input, { resource });
  }
}

function isIndexedType(type: string): type is IndexedType {
  return INDEXED_TYPES.some((indexed) => indexed === type);
}

/**
 * A composite's item as element-path.ts reads it: a fhirpath.js ResourceNode (its element path,
 * JSON and `_element` twin), or a resource, whose path is its type.
 */
function itemOf(input: unknown): { path: string; data: unknown; extension: unknown } | undefined {
  if (!isRecord(input)) return undefined;
  if (typeof input.resourceType === 'string')
    return { path: input.resourceType, data: input, extension: null };
  if (typeof input.path === 'string' && 'data' in input) {
    return { path: input.path, data: input.data, extension: input._data };
  }
  return undefined;
}

/** The optional lists of ResourceIndex stay absent until they have an entry. */
function appended<T>(list: T[] | undefined, entries: T[]): T[] | undefined {
  if (entries.length === 0) return list;
  if (!list) return entries;
  list.push(...entries);
  return list;
}

/**
 * `refersTo('Patient')`: true for a Reference whose target is a Patient, read from the literal
 * reference or, for logical references, `Reference.type` (see evaluableExpression).
 */
function refersTo(isResourceType: (type: string) => boolean): RefersTo {
  return (reference, type) => {
    if (!isRecord(reference)) return false;
    const literal = typeof reference.reference === 'string' ? reference.reference : undefined;
    const target = literal ? referenceTarget(literal, isResourceType)?.type : undefined;
    return (target ?? reference.type) === type;
  };
}

let r4Indexer: ResourceIndexer | undefined;

/** Index entries and Patient compartments of `resource` under the default R4 parameters. */
export function indexResource(resource: FhirResource): ResourceIndex {
  r4Indexer ??= new ResourceIndexer(r4SearchParameters(), patientCompartmentDefinition());
  return r4Indexer.index(resource);
}
