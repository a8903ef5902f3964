/** The search parser on arbitrary input: it reports issues, it never throws (search.html#errors). */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseSearch } from '../src/search/query/parse-search.ts';

const names = fc.constantFrom(
  'name',
  'family:exact',
  'given:contains',
  'identifier',
  'identifier:not',
  'code:in',
  '_id',
  '_lastUpdated',
  'birthdate',
  'subject',
  'subject:Patient',
  'subject:Patient.name',
  'subject.name',
  'general-practitioner.name',
  '_has:Observation:patient:code',
  '_has:Observation',
  '_sort',
  '_count',
  '_total',
  '_summary',
  '_elements',
  '_include',
  '_revinclude:iterate',
  '_type',
  'value-quantity',
  'probability',
  ':',
  '.',
  '_has:',
);
const fragments = fc.constantFrom(
  'gt',
  'ap',
  'eq',
  '2020',
  '-01',
  '-31',
  'T10:00',
  'Z',
  '+02:00',
  '|',
  ',',
  '\\',
  '$',
  'Patient/',
  '1',
  'http://a/',
  'Observation:subject',
  ':iterate',
  '-',
  'true',
  'e5',
  '.5',
  '*',
  ' ',
);
const values = fc.oneof(
  fc.string(),
  fc.array(fragments).map((parts) => parts.join('')),
);
const pairs = fc.array(fc.tuple(fc.oneof(names, fc.string()), values), { maxLength: 6 });

describe('parseSearch on arbitrary pairs (property)', () => {
  it('never throws, for type and system searches', () => {
    fc.assert(
      fc.property(pairs, fc.constantFrom('Patient', 'Observation', undefined), (query, resourceType) => {
        parseSearch({ ...(resourceType !== undefined ? { resourceType } : {}), pairs: query });
      }),
      { numRuns: 3000 },
    );
  });
});
