import { describe, expect, it } from 'vitest';
import { indexResource } from '../src/search/index-resource.ts';
import { observation } from './search-fixtures.ts';

describe('uri parameters (search.html#uri)', () => {
  it('indexes uri, canonical and url values as written', () => {
    const index = indexResource({
      resourceType: 'ValueSet',
      id: 'vs1',
      url: 'http://example.org/fhir/ValueSet/vs1',
      status: 'active',
      meta: {
        profile: ['http://hl7.org/fhir/StructureDefinition/shareablevalueset'],
        source: 'urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7',
      },
    });
    expect(index.uris).toEqual([
      { param: 'url', value: 'http://example.org/fhir/ValueSet/vs1' },
      { param: '_profile', value: 'http://hl7.org/fhir/StructureDefinition/shareablevalueset' },
      { param: '_source', value: 'urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7' },
    ]);
  });

  it('indexes an oid written as a uri (ConceptMap.group.source)', () => {
    const index = indexResource({
      resourceType: 'ConceptMap',
      id: 'cm1',
      status: 'draft',
      group: [{ source: 'urn:oid:2.16.840.1.113883.6.96', element: [{ code: 'a' }] }],
    });
    expect(index.uris).toContainEqual({ param: 'source-system', value: 'urn:oid:2.16.840.1.113883.6.96' });
  });

  it('has no uri entries for a resource without uri values', () => {
    expect(indexResource(observation()).uris).toBeUndefined();
  });
});
