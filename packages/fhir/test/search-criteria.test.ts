/**
 * Conditional criteria strings (http.html#ccreate `If-None-Exist`, conditional references) decode
 * into name/value pairs for the search parser; what the pairs may contain is the parser's concern
 * (search-query-parse.test.ts) and the REST suites'.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../src/outcome.ts';
import { decodeCriteriaQuery } from '../src/search/criteria.ts';
import { normalizeString } from '../src/search/normalize-string.ts';
import { failure } from './support/fhir-failure.ts';

describe('decodeCriteriaQuery', () => {
  it('decodes the bare query, a leading ? and a leading Type? alike', () => {
    const expected = [
      ['identifier', 'http://a|1'],
      ['name', 'Gonçalves da Silva'],
    ];
    expect(decodeCriteriaQuery('Patient', 'identifier=http://a%7C1&name=Gon%C3%A7alves+da%20Silva')).toEqual(
      expected,
    );
    expect(decodeCriteriaQuery('Patient', '?identifier=http://a|1&name=Gonçalves+da+Silva')).toEqual(
      expected,
    );
    expect(decodeCriteriaQuery('Patient', 'Patient?identifier=http://a|1&name=Gonçalves da Silva')).toEqual(
      expected,
    );
  });

  it('keeps repeated parameters and empty pairs out of the way', () => {
    expect(decodeCriteriaQuery('Patient', 'given=a&&given=b&')).toEqual([
      ['given', 'a'],
      ['given', 'b'],
    ]);
  });

  it('refuses a parameter without a value and broken percent-encoding (400, naming it)', () => {
    const missing = failure(() => decodeCriteriaQuery('Patient', 'identifier'));
    expect(missing.status).toBe(400);
    expect(missing.issues[0]?.diagnostics).toContain('identifier');
    const broken = failure(() => decodeCriteriaQuery('Patient', 'family=%E0%A4%A'));
    expect(broken.status).toBe(400);
    expect(broken.issues[0]?.diagnostics).toContain('%E0%A4%A');
  });

  it('throws nothing but FhirError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (query) => {
        try {
          decodeCriteriaQuery('Patient', query);
        } catch (error) {
          return error instanceof FhirError;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('normalizeString', () => {
  it('folds case, accents and whitespace', () => {
    expect(normalizeString('  Ça\tVA  Ĩ İstanbul ')).toBe('ca va i istanbul');
  });
});
