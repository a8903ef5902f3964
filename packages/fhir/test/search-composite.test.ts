/**
 * Composite parameters and `near` in packages/fhir: the registry reads SearchParameter.component,
 * the indexer pairs component values from one item only, and the parser reads `a$b` values and
 * `latitude|longitude|distance|units` (http://hl7.org/fhir/R4/search.html#composite, #special).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../src/outcome.ts';
import type { FhirResource } from '../src/resource.ts';
import { compositeComponents, hasIndexedShape } from '../src/search/composite-components.ts';
import { r4ResourceTypes } from '../src/search/fhir-model.ts';
import { indexResource } from '../src/search/index-resource.ts';
import type { CompositeIndexEntry } from '../src/search/index-types.ts';
import { parseSearch } from '../src/search/query/parse-search.ts';
import { r4SearchParameters, searchParameter } from '../src/search/search-parameters.ts';
import { observation } from './search-fixtures.ts';
import { requireSharedData } from './support/shared-data.ts';

const EXAMPLES = requireSharedData('fhir-r4-examples/resources');
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

function example(file: string): FhirResource {
  return JSON.parse(readFileSync(join(EXAMPLES ?? '', file), 'utf8'));
}

const search = (resourceType: string, query: string) =>
  parseSearch({ resourceType, pairs: [...new URLSearchParams(query)] });

/** `param code → value` pairs of composite rows, the value as its searched text. */
function pairs(entries: readonly CompositeIndexEntry[] | undefined, param: string): string[] {
  return (entries ?? [])
    .filter((entry) => entry.param === param)
    .map(({ code, value, third }) => {
      const shown =
        value.type === 'quantity'
          ? `${value.value} ${value.code}`
          : value.type === 'token'
            ? `${value.system}|${value.code}`
            : value.type === 'number'
              ? value.value
              : JSON.stringify(value);
      return `${code} → ${shown}${third !== undefined ? ` → ${third}` : ''}`;
    });
}

describe('composite parameters in the registry (SearchParameter.component)', () => {
  it('keeps the components with their definitions and expressions', () => {
    expect(searchParameter('Observation', 'component-code-value-quantity')?.components).toEqual([
      { definition: 'http://hl7.org/fhir/SearchParameter/Observation-component-code', expression: 'code' },
      {
        definition: 'http://hl7.org/fhir/SearchParameter/Observation-component-value-quantity',
        expression: 'value.as(Quantity)',
      },
    ]);
    expect(searchParameter('Location', 'near')?.xpathUsage).toBe('nearby');
  });

  it('types every R4 composite from its component definitions; only relationship does not fit a row', () => {
    const registry = r4SearchParameters();
    const shapes = new Map<string, string>();
    for (const type of r4ResourceTypes) {
      for (const definition of registry.forType(type)) {
        if (definition.type !== 'composite') continue;
        const components = compositeComponents(definition, (url) => registry.typeOfDefinition(url));
        shapes.set(
          `${type}.${definition.code}`,
          'shape' in components ? components.shape.map((component) => component.type).join('$') : 'none',
        );
      }
    }
    expect(shapes.get('Observation.code-value-quantity')).toBe('token$quantity');
    expect(shapes.get('Observation.code-value-date')).toBe('token$date');
    expect(shapes.get('Observation.code-value-string')).toBe('token$string');
    expect(shapes.get('Observation.combo-code-value-concept')).toBe('token$token');
    expect(shapes.get('Group.characteristic-value')).toBe('token$token');
    expect(shapes.get('ValueSet.context-type-quantity')).toBe('token$quantity');
    expect(shapes.get('MolecularSequence.referenceseqid-variant-coordinate')).toBe('token$number$number');
    // R4 gives `relationship` the reference parameter `relatesto` on the expression `code`.
    expect([...shapes].filter(([, shape]) => shape === 'none').map(([name]) => name)).toEqual([
      'DocumentReference.relationship',
    ]);
    const relationship = registry.get('DocumentReference', 'relationship');
    expect(relationship && hasIndexedShape(relationship, (url) => registry.typeOfDefinition(url))).toBe(
      false,
    );
  });
});

describe('composite index entries (search.html#composite)', () => {
  it('pairs each component code with the value of the same component only', () => {
    const index = indexResource(observation());
    expect(pairs(index.composites, 'component-code-value-quantity')).toEqual([
      '8480-6 → 120 mm[Hg]',
      '8462-4 → 80 mm[Hg]',
    ]);
    // combo- covers the Observation itself (no value here) and its components.
    expect(pairs(index.composites, 'combo-code-value-quantity')).toEqual([
      '8480-6 → 120 mm[Hg]',
      '8462-4 → 80 mm[Hg]',
    ]);
    expect(pairs(index.composites, 'code-value-quantity')).toEqual([]);
  });

  it('keeps canonical UCUM values on quantity components (search.html#quantity)', () => {
    const [systolic] = indexResource(observation()).composites ?? [];
    expect(systolic).toMatchObject({
      param: 'combo-code-value-quantity',
      system: LOINC,
      code: '8480-6',
      value: { type: 'quantity', value: '120', system: UCUM, code: 'mm[Hg]', canonicalCode: 'g.m-1.s-2' },
    });
  });

  it('indexes a value of the Observation itself under code-value-* and combo-code-value-*', () => {
    const coded = observation({
      component: undefined,
      code: { coding: [{ system: LOINC, code: '883-9' }] },
      valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '112144000' }] },
    });
    const index = indexResource(coded);
    expect(pairs(index.composites, 'code-value-concept')).toEqual([
      '883-9 → http://snomed.info/sct|112144000',
    ]);
    expect(pairs(index.composites, 'combo-code-value-concept')).toEqual([
      '883-9 → http://snomed.info/sct|112144000',
    ]);
    expect(pairs(index.composites, 'code-value-quantity')).toEqual([]);
  });

  it('writes one row per combination of codings', () => {
    const twoCodes = observation({
      component: [
        {
          code: {
            coding: [
              { system: LOINC, code: '8480-6' },
              { system: 'http://snomed.info/sct', code: '271649006' },
            ],
          },
          valueQuantity: { value: 107, system: UCUM, code: 'mm[Hg]' },
        },
      ],
    });
    expect(pairs(indexResource(twoCodes).composites, 'component-code-value-quantity')).toEqual([
      '8480-6 → 107 mm[Hg]',
      '271649006 → 107 mm[Hg]',
    ]);
  });

  it('refuses a resource whose codings would multiply into too many rows', () => {
    const codings = Array.from({ length: 40 }, (_, n) => ({ system: LOINC, code: `c${n}` }));
    const values = Array.from({ length: 40 }, (_, n) => ({ system: LOINC, code: `v${n}` }));
    const flood = observation({
      component: [{ code: { coding: codings }, valueCodeableConcept: { coding: values } }],
    });
    expect(() => indexResource(flood)).toThrow(FhirError);
  });

  it.skipIf(EXAMPLES === null)(
    'pairs the blood-pressure example by component (observation-example-bloodpressure)',
    () => {
      const index = indexResource(example('Observation-blood-pressure.json'));
      // The systolic component is coded in LOINC, SNOMED CT and a local system; each code pairs
      // with 107, and none with the diastolic component's 60.
      expect(pairs(index.composites, 'component-code-value-quantity')).toEqual([
        '8480-6 → 107 mm[Hg]',
        '271649006 → 107 mm[Hg]',
        'bp-s → 107 mm[Hg]',
        '8462-4 → 60 mm[Hg]',
      ]);
    },
  );

  it('reads %resource from each item: MolecularSequence coordinates (molecularsequence.html#search)', () => {
    const sequence: FhirResource = {
      resourceType: 'MolecularSequence',
      coordinateSystem: 1,
      referenceSeq: {
        chromosome: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/chromosome-human', code: '1' }],
        },
        windowStart: 100,
        windowEnd: 400,
      },
      variant: [
        { start: 123, end: 124 },
        { start: 300, end: 345 },
      ],
    };
    const index = indexResource(sequence);
    expect(pairs(index.composites, 'chromosome-variant-coordinate')).toEqual([
      '1 → 123 → 124',
      '1 → 300 → 345',
    ]);
    expect(pairs(index.composites, 'chromosome-window-coordinate')).toEqual(['1 → 100 → 400']);
  });
});

describe('position index entries (Location-near)', () => {
  it('indexes Location.position in decimal degrees; an invalid one is left out', () => {
    const located = (position: unknown): FhirResource => ({ resourceType: 'Location', position });
    expect(indexResource(located({ latitude: 42.25475478, longitude: -83.6945691 })).positions).toEqual([
      { param: 'near', latitude: 42.25475478, longitude: -83.6945691 },
    ]);
    expect(indexResource(located({ latitude: 91, longitude: 0 })).positions).toBeUndefined();
    expect(indexResource({ resourceType: 'Location' }).positions).toBeUndefined();
  });
});

describe('composite values (search.html#composite)', () => {
  it('parses each part as the type of its component, with prefixes and units', () => {
    const { query, issues } = search(
      'Observation',
      `component-code-value-quantity=${LOINC}|8480-6$lt60|${UCUM}|mm[Hg],8462-4$ge5.4`,
    );
    expect(issues).toEqual([]);
    expect(query.filters).toEqual([
      {
        kind: 'composite',
        parameter: 'component-code-value-quantity',
        code: 'component-code-value-quantity',
        values: [
          {
            components: [
              { type: 'token', value: { system: LOINC, code: '8480-6' } },
              {
                type: 'quantity',
                value: { prefix: 'lt', value: '60', low: '59.5', high: '60.5', system: UCUM, code: 'mm[Hg]' },
              },
            ],
          },
          {
            components: [
              { type: 'token', value: { code: '8462-4' } },
              { type: 'quantity', value: { prefix: 'ge', value: '5.4', low: '5.35', high: '5.45' } },
            ],
          },
        ],
      },
    ]);
  });

  it('keeps an escaped $ and , inside a part (search.html#escaping)', () => {
    const { query } = search('Observation', 'code-value-string=x$a\\$b\\,c');
    expect(query.filters[0]).toMatchObject({
      kind: 'composite',
      values: [
        {
          components: [
            { type: 'token', value: { code: 'x' } },
            { type: 'string', value: 'a$b,c' },
          ],
        },
      ],
    });
  });

  it('parses dates and three-part numbers', () => {
    const date = search('Observation', 'code-value-date=x$ge2020-01').query.filters[0];
    expect(date).toMatchObject({
      values: [
        { components: [{}, { type: 'date', value: { prefix: 'ge', low: '2020-01-01T00:00:00.000Z' } }] },
      ],
    });
    const coordinates = search('MolecularSequence', 'chromosome-variant-coordinate=1$lt345$gt123').query
      .filters[0];
    expect(coordinates).toMatchObject({
      values: [
        {
          components: [
            { type: 'token', value: { code: '1' } },
            { type: 'number', value: { prefix: 'lt', value: '345' } },
            { type: 'number', value: { prefix: 'gt', value: '123' } },
          ],
        },
      ],
    });
  });

  it('reports wrong part counts, bad parts, modifiers and unsearchable composites as issues', () => {
    const issue = (resourceType: string, query: string) =>
      search(resourceType, query).issues.map((found) => found.code);
    expect(issue('Observation', 'code-value-quantity=x')).toEqual(['invalid']);
    expect(issue('Observation', 'code-value-quantity=x$1$2')).toEqual(['invalid']);
    expect(issue('Observation', 'code-value-quantity=x$')).toEqual(['invalid']);
    expect(issue('Observation', 'code-value-quantity=x$abc')).toEqual(['invalid']);
    expect(issue('Observation', 'code-value-quantity:exact=x$1')).toEqual(['not-supported']);
    expect(issue('DocumentReference', 'relationship=appends$DocumentReference/1')).toEqual(['not-supported']);
    expect(search('Observation', 'code-value-quantity:missing=true').query.filters).toEqual([
      {
        kind: 'missing',
        parameter: 'code-value-quantity:missing',
        code: 'code-value-quantity',
        type: 'composite',
        missing: true,
      },
    ]);
  });
});

describe('near values (search.html#special, Location-near)', () => {
  const near = (value: string) => search('Location', `near=${encodeURIComponent(value)}`);

  it('reads latitude|longitude|distance|units, km by default, UCUM lengths converted to metres', () => {
    expect(near('42.2565|-83.6948|11.20|km').query.filters).toEqual([
      {
        kind: 'near',
        parameter: 'near',
        code: 'near',
        values: [{ latitude: 42.2565, longitude: -83.6948, radiusMetres: 11200 }],
      },
    ]);
    const radius = (value: string) => near(value).query.filters[0];
    expect(radius('0|0|3')).toMatchObject({ values: [{ radiusMetres: 3000 }] });
    expect(radius('0|0|250|m')).toMatchObject({ values: [{ radiusMetres: 250 }] });
    expect(radius('0|0|1|[mi_i]')).toMatchObject({ values: [{ radiusMetres: 1609.344 }] });
    expect(radius('0|0')).toMatchObject({ values: [{ radiusMetres: 5000 }] });
  });

  it('reports malformed coordinates, distances and units', () => {
    for (const value of [
      '91|0',
      '0|-180.5',
      '0',
      'north|east',
      '0|0|-1',
      '0|0|1|kg',
      '0|0||km',
      '1|2|3|km|5',
    ]) {
      expect(
        near(value).issues.map((issue) => issue.code),
        value,
      ).toEqual(['invalid']);
    }
  });
});

describe('composite and near parsing on arbitrary input (property)', () => {
  it('never throws: every problem is an issue', () => {
    const fragments = fc.constantFrom(
      '$',
      '|',
      ',',
      '\\',
      'lt',
      'ge',
      '8480-6',
      '60',
      '1e3',
      '-',
      '.',
      'km',
      '[mi_i]',
      '90',
    );
    const value = fc.oneof(
      fc.string(),
      fc.array(fragments).map((parts) => parts.join('')),
    );
    const name = fc.constantFrom(
      'code-value-quantity',
      'component-code-value-concept',
      'code-value-date',
      'code-value-string',
      'chromosome-variant-coordinate',
      'near',
      'near:missing',
      'relationship',
    );
    fc.assert(
      fc.property(name, value, (parameter, text) => {
        for (const type of ['Observation', 'MolecularSequence', 'Location', 'DocumentReference']) {
          parseSearch({ resourceType: type, pairs: [[parameter, text]] });
        }
      }),
      { numRuns: 2000 },
    );
  });
});
