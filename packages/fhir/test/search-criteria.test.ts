import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../src/outcome.ts';
import { parseCriteria } from '../src/search/criteria.ts';
import { normalizeString } from '../src/search/normalize-string.ts';
import { failure } from './support/fhir-failure.ts';

describe('conditional criteria (http.html#ccreate, search.html)', () => {
  it('parses an If-None-Exist identifier (system|value)', () => {
    expect(parseCriteria('Patient', 'identifier=http://a|1')).toEqual([
      { kind: 'token', param: 'identifier', values: [{ system: 'http://a', code: '1' }] },
    ]);
  });

  it('parses the four token forms (search.html#token)', () => {
    expect(
      parseCriteria('Observation', 'code=http://loinc.org|1234-5,|local,http://snomed.info/sct|,8480-6'),
    ).toEqual([
      {
        kind: 'token',
        param: 'code',
        values: [
          { system: 'http://loinc.org', code: '1234-5' },
          { system: null, code: 'local' },
          { system: 'http://snomed.info/sct' },
          { code: '8480-6' },
        ],
      },
    ]);
  });

  it('accepts a leading ? or Type? and decodes percent-escapes and +', () => {
    const expected = [
      { kind: 'token', param: 'identifier', values: [{ system: 'urn:oid:1.2', code: 'a b' }] },
      { kind: 'string', param: 'name', mode: 'starts-with', values: ['muller'] },
    ];
    expect(parseCriteria('Patient', 'Patient?identifier=urn%3Aoid%3A1.2%7Ca+b&name=M%C3%BCller')).toEqual(
      expected,
    );
    expect(parseCriteria('Patient', '?identifier=urn:oid:1.2|a%20b&name=Müller')).toEqual(expected);
  });

  it('takes decoded name/value pairs as they are', () => {
    expect(parseCriteria('Patient', [['identifier', 'x|a+b%20']])).toEqual([
      { kind: 'token', param: 'identifier', values: [{ system: 'x', code: 'a+b%20' }] },
    ]);
  });

  it('parses _id as a list of ids (OR)', () => {
    expect(parseCriteria('Patient', '_id=a,b')).toEqual([{ kind: 'id', values: ['a', 'b'] }]);
  });

  it('keeps repeated parameters as separate criteria (AND)', () => {
    expect(parseCriteria('Patient', 'given=anna&given=maria')).toHaveLength(2);
  });

  it('normalises string values, except with :exact', () => {
    expect(parseCriteria('Patient', 'family=  MÜLLER ')).toEqual([
      { kind: 'string', param: 'family', mode: 'starts-with', values: ['muller'] },
    ]);
    expect(parseCriteria('Patient', 'family:exact=Müller')).toEqual([
      { kind: 'string', param: 'family', mode: 'exact', values: ['Müller'] },
    ]);
    expect(parseCriteria('Patient', 'address:contains=Genè')).toEqual([
      { kind: 'string', param: 'address', mode: 'contains', values: ['gene'] },
    ]);
  });

  it('honours escaped commas and bars (search.html#escaping)', () => {
    expect(parseCriteria('Patient', [['identifier', 'http://a\\|b|1\\,2']])).toEqual([
      { kind: 'token', param: 'identifier', values: [{ system: 'http://a|b', code: '1,2' }] },
    ]);
    expect(parseCriteria('Patient', [['family', 'a\\,b,c']])).toEqual([
      { kind: 'string', param: 'family', mode: 'starts-with', values: ['a,b', 'c'] },
    ]);
  });

  it('parses the common token parameter _tag', () => {
    expect(parseCriteria('Observation', '_tag=http://t|x')).toEqual([
      { kind: 'token', param: '_tag', values: [{ system: 'http://t', code: 'x' }] },
    ]);
  });
});

describe('criteria that are refused, naming the parameter', () => {
  it.each([
    ['Patient', 'nonsense=1', 'invalid', 'nonsense'],
    ['Patient', 'birthdate=2020', 'not-supported', 'birthdate'],
    ['Patient', '_lastUpdated=gt2020', 'not-supported', '_lastUpdated'],
    ['Observation', 'subject=Patient/1', 'not-supported', 'subject'],
    ['Patient', 'identifier:text=x', 'not-supported', 'identifier:text'],
    ['Patient', 'family:missing=true', 'not-supported', 'family:missing'],
    ['Patient', '_id:not=1', 'not-supported', '_id:not'],
    ['Patient', 'subject.name=x', 'not-supported', 'subject.name'],
    ['Patient', '_count=1', 'not-supported', '_count'],
    ['Patient', '_text=x', 'not-supported', '_text'],
    ['Patient', 'identifier=', 'invalid', 'identifier'],
    ['Patient', 'identifier', 'invalid', 'identifier'],
    ['Patient', 'identifier=a,,b', 'invalid', 'identifier'],
    ['Patient', 'identifier=|', 'invalid', 'identifier'],
    ['Patient', 'identifier=a|b|c', 'invalid', 'identifier'],
    ['Patient', 'family=%20', 'invalid', 'family'],
    ['Patient', 'family:a:b=x', 'invalid', 'family:a:b'],
    ['Patient', 'family=%E0%A4%A', 'invalid', '%E0%A4%A'],
    ['Patient', '', 'invalid', 'empty'],
    ['Spaceship', '_id=1', 'not-supported', 'Spaceship'],
  ])('%s?%s → %s', (type, query, code, named) => {
    const error = failure(() => parseCriteria(type, query));
    expect(error.status).toBe(400);
    expect(error.issues[0]?.code).toBe(code);
    expect(error.issues[0]?.diagnostics).toContain(named);
  });
});

describe('normalizeString', () => {
  it('folds case, accents and whitespace', () => {
    expect(normalizeString('  Ça\tVA  Ĩ İstanbul ')).toBe('ca va i istanbul');
  });
});

describe('parseCriteria on arbitrary input', () => {
  const interesting = fc.constantFrom(
    'identifier',
    'name',
    'family:exact',
    'given:contains',
    '_id',
    'code',
    'birthdate',
    ':',
    '=',
    '&',
    '|',
    ',',
    '\\',
    '%',
    '%2',
    '%C3%A9',
    '+',
    '?',
    'Patient?',
    'http://a',
    ' ',
    'é',
    '\uD800',
  );
  const queries = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.array(interesting).map((parts) => parts.join('')),
  );

  it('throws nothing but FhirError (property)', () => {
    fc.assert(
      fc.property(queries, fc.constantFrom('Patient', 'Observation'), (query, type) => {
        try {
          parseCriteria(type, query);
        } catch (error) {
          return error instanceof FhirError;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but FhirError on decoded pairs (property)', () => {
    const pairs = fc.array(fc.tuple(fc.oneof(interesting, fc.string()), fc.oneof(interesting, fc.string())));
    fc.assert(
      fc.property(pairs, (query) => {
        try {
          parseCriteria('Patient', query);
        } catch (error) {
          return error instanceof FhirError;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});
