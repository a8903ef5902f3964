/**
 * What a resource contributes to the search index and the Patient compartment, computed on every
 * write from the search parameters' FHIRPath expressions (http://hl7.org/fhir/R4/search.html).
 *
 * Each expression is compiled once per (resource type, registry version) and evaluated with
 * fhirpath.js against the R4 model, so choice types (`value as Quantity`) and element types are
 * the spec's. Only token, string and reference parameters are evaluated: they are the ones the
 * store indexes so far, and this runs inside every write. An expression whose starting elements
 * are all absent from the resource is not evaluated at all (see `rootElements`), which roughly
 * halves the cost for a typical Observation.
 */
import fhirpath, { type UserInvocationTable } from 'fhirpath';
import { type FhirResource, isRecord } from '../resource.ts';
import { type CompartmentDefinition, patientCompartmentDefinition } from './compartments.ts';
import { evaluableExpression, REFERS_TO_FUNCTION, rootElements } from './expression.ts';
import { r4Model } from './fhir-model.ts';
import type { ResourceIndex } from './index-types.ts';
import { referenceEntries, stringEntries, tokenEntries, typedValues } from './index-values.ts';
import { referenceTarget } from './reference-target.ts';
import {
  r4SearchParameters,
  type SearchParameterDefinition,
  type SearchParameterRegistry,
} from './search-parameters.ts';

type IndexedType = 'token' | 'string' | 'reference';

interface CompiledParameter {
  code: string;
  type: IndexedType;
  /** JSON properties the expression starts from; absent: always evaluate (see rootElements). */
  properties?: readonly string[];
  evaluate: (resource: FhirResource) => unknown[];
}

interface CompiledType {
  registryVersion: number;
  parameters: CompiledParameter[];
}

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
      if (
        parameter.properties &&
        !parameter.properties.some((property) => resource[property] !== undefined)
      ) {
        continue;
      }
      const values = typedValues(parameter.evaluate(resource));
      if (values.length === 0) continue;
      if (parameter.type === 'token') index.tokens.push(...tokenEntries(parameter.code, values));
      else if (parameter.type === 'string') index.strings.push(...stringEntries(parameter.code, values));
      else index.references.push(...referenceEntries(parameter.code, values, this.isResourceType));
    }
    index.patientCompartments = this.patientCompartmentsOf(resource, index);
    return index;
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
    if (!expression || !isIndexedType(type)) return [];
    const rewritten = evaluableExpression(expression);
    if (/\bresolve\(\)/.test(rewritten)) {
      // Evaluating it would need a fetch inside the write transaction (see evaluableExpression).
      throw new Error(
        `Search parameter ${resourceType}.${code}: unsupported use of resolve() in '${expression}'`,
      );
    }
    const evaluate = fhirpath.compile(rewritten, r4Model, {
      resolveInternalTypes: false,
      userInvocationTable: this.functions,
    });
    const roots = rootElements(expression, resourceType);
    const properties = roots?.flatMap((element) => jsonProperties(resourceType, element));
    return [
      { code, type, ...(properties ? { properties } : {}), evaluate: (resource) => evaluate(resource) },
    ];
  }
}

/** `value` of Observation is `valueQuantity`, `valueString`, … in JSON (choice types, formats.html#choice). */
function jsonProperties(resourceType: string, element: string): string[] {
  const choices = r4Model.choiceTypePaths[`${resourceType}.${element}`];
  return choices ? choices.map((type) => `${element}${type}`) : [element];
}

function isIndexedType(type: string): type is IndexedType {
  return type === 'token' || type === 'string' || type === 'reference';
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
