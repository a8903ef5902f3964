/** The ICPC-2 → ICD-10 conversion table importer (CSV) and its ConceptMapEquivalence mapping. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ICPC2_URL } from '../../../src/terminology/import/icpc2.ts';
import {
  ConversionTableError,
  equivalenceOf,
  ICD10_URL,
  ICPC2_ICD10_MAP_URL,
  normaliseIcd10,
  readIcpc2Icd10Map,
} from '../../../src/terminology/import/icpc2-icd10-map.ts';
import { allMappings, FIXTURES } from './import-test-support.ts';

const TABLE = `${FIXTURES}maps/icpc2-icd10-mini.csv`;

describe('ICPC-2 → ICD-10 conversion table', () => {
  it('reads one mapping per row, with R4 equivalences from the relationship column (conceptmap.html)', async () => {
    const map = await readIcpc2Icd10Map(TABLE, { version: '2024' });
    expect(map).toMatchObject({ url: ICPC2_ICD10_MAP_URL, version: '2024', name: 'ICPC2toICD10' });
    const mappings = await allMappings(map.mappings);
    expect(mappings.map((m) => [m.source.code, m.target?.code, m.equivalence])).toEqual([
      ['R96', 'J45.9', 'equivalent'],
      ['R96', 'J45.0', 'narrower'],
      ['R96', 'J46', 'narrower'],
      ['K86', 'I10', 'equivalent'],
      ['A03', 'R50.9', 'wider'],
      ['R74', 'J06.9', 'inexact'],
      ['-62', undefined, 'unmatched'],
    ]);
    expect(mappings[4]).toEqual({
      source: { system: ICPC2_URL, code: 'A03', display: 'Fever' },
      target: { system: ICD10_URL, code: 'R50.9', display: 'Fever, unspecified' },
      equivalence: 'wider',
      comment: 'ICPC-2 fever also covers fever of known cause',
    });
  });

  it('targets another ICD-10 flavour and URL when told', async () => {
    const map = await readIcpc2Icd10Map(TABLE, {
      version: '2024',
      url: 'http://example.no/fhir/ConceptMap/icpc2-icd10',
      targetSystem: 'http://example.no/fhir/sid/icd-10-no',
    });
    expect(map.url).toBe('http://example.no/fhir/ConceptMap/icpc2-icd10');
    expect((await allMappings(map.mappings))[0]?.target?.system).toBe('http://example.no/fhir/sid/icd-10-no');
  });

  it('reads relationship words and symbols, defaults to relatedto, and rejects what it does not know', () => {
    expect(equivalenceOf(undefined)).toBe('relatedto');
    expect(equivalenceOf(' ')).toBe('relatedto');
    expect(equivalenceOf('Broader')).toBe('wider');
    expect(equivalenceOf('partial')).toBe('inexact');
    expect(equivalenceOf('maybe')).toBeUndefined();
  });

  it('writes every ICD-10 code in the dotted form, however the table spells it (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z]\d\d(\d{1,2})?$/),
        fc.boolean(),
        fc.boolean(),
        (code, dotted, lower) => {
          const written = dotted && code.length > 3 ? `${code.slice(0, 3)}.${code.slice(3)}` : code;
          const normal = normaliseIcd10(` ${lower ? written.toLowerCase() : written} `);
          expect(normal.replace('.', '')).toBe(code);
          expect(normal).toMatch(/^[A-Z]\d\d(\.\d{1,2})?$/);
        },
      ),
    );
  });

  it('names the columns it needs when the table has none of them', async () => {
    await expect(readIcpc2Icd10Map(`${FIXTURES}icpc2/icpc2-mini.csv`, { version: '1' })).rejects.toThrow(
      ConversionTableError,
    );
  });
});
