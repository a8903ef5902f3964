/**
 * What a search parameter selects from a resource: its SearchParameter.expression (FHIRPath, from
 * the R4 definitions) evaluated by fhirpath.js with the R4 model, so each value comes with its FHIR
 * type (`Coding`, `Period`, `date`, …). Only two rewrites are needed to evaluate R4 expressions:
 *
 * - `resolve() is T` → `resolve().resourceType = 'T'`, with `resolve()` answered from the
 *   in-memory dataset (the real target, not a guess from the reference text);
 * - `(x as T)` / `x.as(T)` → `x.ofType(T)`: R4 applies `as` to repeating elements, which FHIRPath
 *   refuses; R5 rewrote those expressions with `ofType`.
 */
import type { FhirResource, SearchParameterDefinition } from '@concordia/fhir';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { ReferenceDataset } from './dataset.ts';

/** One selected value with its FHIR type, or `null` for a computed one (`deceased.exists()`). */
export interface SelectedValue {
  type: string | null;
  data: unknown;
}

type Compiled = (resource: FhirResource) => unknown[];

export class ValueSelector {
  private readonly compiled = new Map<string, Compiled>();
  private readonly cache = new WeakMap<FhirResource, Map<string, SelectedValue[]>>();

  constructor(private readonly dataset: ReferenceDataset) {}

  /** The values `definition` selects from `resource` (empty when it has no expression). */
  select(resource: FhirResource, definition: SearchParameterDefinition): SelectedValue[] {
    let perResource = this.cache.get(resource);
    if (perResource === undefined) {
      perResource = new Map();
      this.cache.set(resource, perResource);
    }
    const cached = perResource.get(definition.code);
    if (cached !== undefined) return cached;
    const values = this.evaluate(resource, definition);
    perResource.set(definition.code, values);
    return values;
  }

  private evaluate(resource: FhirResource, definition: SearchParameterDefinition): SelectedValue[] {
    const { expression } = definition;
    if (expression === undefined) return [];
    const key = `${resource.resourceType}\u0000${expression}`;
    let compiled = this.compiled.get(key);
    if (compiled === undefined) {
      compiled = this.compile(expression);
      this.compiled.set(key, compiled);
    }
    return compiled(resource).map(selectedValue);
  }

  private compile(expression: string): Compiled {
    const rewritten = expression
      .replace(/\bresolve\(\)\s+is\s+(?:FHIR\.)?([A-Z][A-Za-z]*)/g, "resolve().resourceType = '$1'")
      .replace(/\(([A-Za-z][\w.]*)\s+as\s+([A-Za-z][\w.]*)\)/g, '$1.ofType($2)')
      .replace(/\.as\(([A-Za-z][\w.]*)\)/g, '.ofType($1)');
    const dataset = this.dataset;
    const resolve = {
      fn: (references: unknown[]) =>
        references.flatMap((reference) => {
          const data = nodeData(reference);
          const literal = isObject(data) && typeof data.reference === 'string' ? data.reference : undefined;
          const target = literal === undefined ? undefined : dataset.resolve(literal);
          return target === undefined ? [] : [target];
        }),
      arity: { 0: [] },
    };
    const evaluate = fhirpath.compile(rewritten, r4, {
      resolveInternalTypes: false,
      userInvocationTable: { resolve },
    });
    return (resource) => evaluate(resource);
  }
}

function selectedValue(result: unknown): SelectedValue {
  if (isObject(result) && 'fhirNodeDataType' in result && 'data' in result) {
    const type = result.fhirNodeDataType;
    return { type: typeof type === 'string' ? type : null, data: result.data };
  }
  return { type: null, data: result };
}

function nodeData(node: unknown): unknown {
  return isObject(node) && 'data' in node ? node.data : node;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
