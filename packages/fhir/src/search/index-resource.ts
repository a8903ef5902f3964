/**
 * What a resource contributes to the search index and the Patient compartment, computed on every
 * write from the search parameters' FHIRPath expressions (http://hl7.org/fhir/R4/search.html).
 *
 * Each expression is compiled once per (resource type, registry version) and evaluated with
 * fhirpath.js against the R4 model, so choice types (`value as Quantity`) and element types are
 * the spec's. Every parameter type is evaluated but composite (not indexed yet) and special
 * (`near`, evaluated by the server itself). An alternative of an expression whose starting
 * elements are absent from the resource is not evaluated at all (see presence-guard.ts), which
 * more than halves the cost for a typical Observation.
 */
import fhirpath, { type UserInvocationTable } from 'fhirpath';
import { type FhirResource, isRecord } from '../resource.ts';
import { type CompartmentDefinition, patientCompartmentDefinition } from './compartments.ts';
import { evaluableExpression, REFERS_TO_FUNCTION, splitUnion } from './expression.ts';
import { r4Model } from './fhir-model.ts';
import { dateEntries } from './index-dates.ts';
import { numberEntries, quantityEntries } from './index-numbers.ts';
import type { ResourceIndex } from './index-types.ts';
import {
  referenceEntries,
  stringEntries,
  type TypedValue,
  tokenEntries,
  typedValues,
  uriEntries,
} from './index-values.ts';
import { type PresenceGuard, presenceGuard } from './presence-guard.ts';
import { referenceTarget } from './reference-target.ts';
import {
  r4SearchParameters,
  type SearchParameterDefinition,
  type SearchParameterRegistry,
} from './search-parameters.ts';

const INDEXED_TYPES = ['token', 'string', 'reference', 'date', 'number', 'quantity', 'uri'] as const;

type IndexedType = (typeof INDEXED_TYPES)[number];

interface CompiledParameter {
  code: string;
  type: IndexedType;
  /** The top-level alternatives of the expression (`a | b`), each evaluated on its own. */
  alternatives: CompiledAlternative[];
}

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
  private readonly functions: UserInvocationTable;

  constructor(
    private readonly registry: SearchParameterRegistry,
    private readonly patientCompartment: CompartmentDefinition,
  ) {
    this.isResourceType = (type) => registry.isResourceType(type);
    this.functions = { [REFERS_TO_FUNCTION]: refersTo(this.isResourceType) };
  }

  index(resource: FhirResource): ResourceIndex {
    const index: ResourceIndex = { tokens: [], strings: [], references: [], patientCompartments: [] };
    for (const parameter of this.parametersOf(resource.resourceType)) {
      let selected: unknown[] | undefined;
      for (const { isPresent, evaluate } of parameter.alternatives) {
        if (isPresent && !isPresent(resource)) continue;
        const results = evaluate(resource);
        if (results.length === 0) continue;
        if (selected) selected.push(...results);
        else selected = results;
      }
      if (selected) this.addEntries(index, parameter, typedValues(selected));
    }
    index.patientCompartments = this.patientCompartmentsOf(resource, index);
    return index;
  }

  private addEntries(index: ResourceIndex, parameter: CompiledParameter, values: TypedValue[]): void {
    const { code } = parameter;
    switch (parameter.type) {
      case 'token':
        index.tokens.push(...tokenEntries(code, values));
        return;
      case 'string':
        index.strings.push(...stringEntries(code, values));
        return;
      case 'reference':
        index.references.push(...referenceEntries(code, values, this.isResourceType));
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
    if (!expression || !isIndexedType(type) || ROW_SEARCH_PARAMETERS.has(code)) return [];
    // Each top-level alternative is evaluated on its own, behind its presence guard, and the
    // results concatenated: the `|` operator removes duplicates by FHIRPath equality, which throws
    // on a Quantity with a comparator (fhirpath.js), and the entry builders remove duplicates anyway.
    const alternatives = splitUnion(expression).map((alternative): CompiledAlternative => {
      const rewritten = evaluableExpression(alternative);
      if (/\bresolve\(\)/.test(rewritten)) {
        // Evaluating it would need a fetch inside the write transaction (see evaluableExpression).
        throw new Error(
          `Search parameter ${resourceType}.${code}: unsupported use of resolve() in '${expression}'`,
        );
      }
      const compiled = fhirpath.compile(rewritten, r4Model, {
        resolveInternalTypes: false,
        userInvocationTable: this.functions,
      });
      const isPresent = presenceGuard(alternative, resourceType);
      return { ...(isPresent ? { isPresent } : {}), evaluate: (resource) => compiled(resource) };
    });
    return [{ code, type, alternatives }];
  }
}

function isIndexedType(type: string): type is IndexedType {
  return INDEXED_TYPES.some((indexed) => indexed === type);
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
function refersTo(isResourceType: (type: string) => boolean): UserInvocationTable[string] {
  return {
    fn: (references: unknown[], type: unknown) =>
      references.map((reference) => {
        if (!isRecord(reference)) return false;
        const literal = typeof reference.reference === 'string' ? reference.reference : undefined;
        const target = literal ? referenceTarget(literal, isResourceType)?.type : undefined;
        return (target ?? reference.type) === type;
      }),
    arity: { 1: ['String'] },
  };
}

let r4Indexer: ResourceIndexer | undefined;

/** Index entries and Patient compartments of `resource` under the default R4 parameters. */
export function indexResource(resource: FhirResource): ResourceIndex {
  r4Indexer ??= new ResourceIndexer(r4SearchParameters(), patientCompartmentDefinition());
  return r4Indexer.index(resource);
}
