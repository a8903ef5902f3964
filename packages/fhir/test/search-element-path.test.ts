import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fhirpath from 'fhirpath';
import { describe, expect, it } from 'vitest';
import { isRecord } from '../src/resource.ts';
import { compositeComponents } from '../src/search/composite-components.ts';
import { elementPath, relativeElementPath } from '../src/search/element-path.ts';
import { evaluableExpression, splitUnion } from '../src/search/expression.ts';
import { r4Model } from '../src/search/fhir-model.ts';
import { r4SearchParameters } from '../src/search/search-parameters.ts';
import { requireSharedData } from './support/shared-data.ts';

/** What the indexer reads of a fhirpath.js result: each item's JSON and element type. */
function viaFhirpath(expression: string, resource: unknown, refersTo: (r: unknown, t: string) => boolean) {
  const results: unknown[] = fhirpath.evaluate(resource, expression, undefined, r4Model, {
    resolveInternalTypes: false,
    userInvocationTable: {
      refersTo: {
        fn: (references: unknown[], type: unknown) =>
          references.map((reference) => typeof type === 'string' && refersTo(reference, type)),
        arity: { 1: ['String'] },
      },
    },
  });
  return results.map((result) =>
    isRecord(result) && 'fhirNodeDataType' in result
      ? { data: result.data, fhirNodeDataType: result.fhirNodeDataType ?? null }
      : { data: result, fhirNodeDataType: null },
  );
}

// A stand-in with the indexer's contract: the target type named by the literal reference.
const refersTo = (reference: unknown, type: string): boolean =>
  isRecord(reference) &&
  typeof reference.reference === 'string' &&
  reference.reference.split('/').at(-2) === type;

/** Every R4 search expression of the resource's type, alternative by alternative, both ways. */
function differences(resource: Record<string, unknown>): { read: number; differing: string[] } {
  const resourceType = String(resource.resourceType);
  let read = 0;
  const differing: string[] = [];
  const registry = r4SearchParameters();
  for (const parameter of registry.forType(resourceType)) {
    if (parameter.expression === undefined) continue;
    if (parameter.type === 'composite') {
      const components = compositeComponents(parameter, (url) => registry.typeOfDefinition(url));
      const found = componentDifferences(
        resource,
        parameter.expression,
        'shape' in components ? components.shape : [],
      );
      read += found.read;
      differing.push(...found.differing);
      continue;
    }
    for (const alternative of splitUnion(parameter.expression)) {
      const rewritten = evaluableExpression(alternative);
      const direct = elementPath(rewritten, resourceType, r4Model, refersTo);
      if (direct === undefined) continue;
      read++;
      const expected = viaFhirpath(rewritten, resource, refersTo);
      const actual = direct(resource as never);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        differing.push(`${resourceType}/${String(resource.id)} ${rewritten}`);
      }
    }
  }
  return { read, differing };
}

/** A composite's components on each item its expression selects (a ResourceNode, or the resource). */
function componentDifferences(
  resource: Record<string, unknown>,
  expression: string,
  components: readonly { expression: string }[],
): { read: number; differing: string[] } {
  let read = 0;
  const differing: string[] = [];
  const items: unknown[] = splitUnion(expression).flatMap((alternative) =>
    alternative === resource.resourceType
      ? [resource]
      : fhirpath.evaluate(resource, evaluableExpression(alternative), undefined, r4Model, {
          resolveInternalTypes: false,
        }),
  );
  for (const item of items) {
    const node = isRecord(item) && typeof item.resourceType !== 'string' ? item : undefined;
    const [path, data, extension] = node
      ? [String(node.path), node.data, node._data]
      : [String(resource.resourceType), item, null];
    for (const component of components) {
      for (const alternative of splitUnion(component.expression)) {
        const rewritten = evaluableExpression(alternative);
        const actual = relativeElementPath(rewritten, r4Model, refersTo)?.(path, data, extension);
        if (actual === undefined) continue;
        read++;
        if (JSON.stringify(actual) !== JSON.stringify(viaFhirpath(rewritten, item, refersTo))) {
          differing.push(`${String(resource.resourceType)}/${String(resource.id)} ${path}: ${rewritten}`);
        }
      }
    }
  }
  return { read, differing };
}

function withNested(resource: unknown): Record<string, unknown>[] {
  if (!isRecord(resource)) return [];
  const nested = [
    ...(Array.isArray(resource.entry)
      ? resource.entry.map((entry) => (isRecord(entry) ? entry.resource : undefined))
      : []),
    ...(Array.isArray(resource.contained) ? resource.contained : []),
  ];
  return [resource, ...nested.flatMap(withNested)];
}

describe('element paths read what fhirpath.js selects', () => {
  it('answers plain paths, typed choices and refersTo filters, and leaves the rest to fhirpath.js', () => {
    const read = (expression: string) => elementPath(expression, 'Observation', r4Model, refersTo);
    expect(read('Observation.code')).toBeDefined();
    expect(read('(Observation.effective.ofType(dateTime))')).toBeDefined();
    expect(read("Observation.subject.where(refersTo('Patient'))")).toBeDefined();
    expect(read('Observation.component.code')).toBeDefined();
    expect(read('Patient.name')).toBeUndefined();
    expect(read("Observation.code.coding.where(system = 'x')")).toBeUndefined();
    expect(read('Observation.value.code')).toBeUndefined();
    expect(read('Observation.status.extension')).toBeUndefined();
    expect(read('Resource.meta.tag')).toBeDefined();
    expect(elementPath('Bundle.entry.resource', 'Bundle', r4Model, refersTo)).toBeUndefined();
    const relative = relativeElementPath('value.ofType(Quantity)', r4Model, refersTo);
    expect(relative?.('Observation.component', { valueQuantity: { value: 1 } }, null)).toEqual([
      { data: { value: 1 }, fhirNodeDataType: 'Quantity' },
    ]);
    expect(relative?.('Observation.component', { valueString: 'x' }, null)).toEqual([]);
  });

  it('reads primitives with their _element twin, as fhirpath.js does (json.html#primitive)', () => {
    const resource = {
      resourceType: 'Patient',
      id: 'p',
      name: [{ given: ['Ann', 'Bo'], _given: [null, { id: 'x' }, { id: 'only-extension' }] }],
      _birthDate: { extension: [{ url: 'http://example.org/unknown', valueString: 'unknown' }] },
    };
    expect(differences(resource).differing).toEqual([]);
    const given = elementPath('Patient.name.given', 'Patient', r4Model, refersTo);
    expect(given?.(resource as never)).toEqual([
      { data: 'Ann', fhirNodeDataType: 'string' },
      { data: 'Bo', fhirNodeDataType: 'string' },
      { data: null, fhirNodeDataType: 'string' },
    ]);
  });

  const examplesDir = requireSharedData('fhir-r4-examples/resources');
  it.skipIf(examplesDir === null)(
    'on every official R4 example, its Bundle entries and contained resources',
    () => {
      const dir = examplesDir ?? '';
      let read = 0;
      const differing: string[] = [];
      for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) {
        for (const resource of withNested(JSON.parse(readFileSync(join(dir, file), 'utf8')))) {
          const found = differences(resource);
          read += found.read;
          differing.push(...found.differing);
        }
      }
      expect(differing).toEqual([]);
      expect(read).toBeGreaterThan(10_000);
    },
  );

  const syntheaDir = requireSharedData('synthea/smart-r4-2019');
  it.skipIf(syntheaDir === null)('on Synthea patient records', () => {
    const dir = syntheaDir ?? '';
    const files = readdirSync(dir)
      .filter((name) => /\.json(\.gz)?$/.test(name))
      .sort()
      .slice(0, 5);
    const differing: string[] = [];
    for (const file of files) {
      const bytes = readFileSync(join(dir, file));
      const bundle: unknown = JSON.parse((file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
      for (const resource of withNested(bundle)) differing.push(...differences(resource).differing);
    }
    expect(differing).toEqual([]);
  });
});
