/** The LOINC table importer (Loinc.csv of the LOINC release) on a small file shaped like it. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loincConcept, loincVersionFromPath, readLoinc } from '../../../src/terminology/import/loinc.ts';
import { conceptsByCode, FIXTURES } from './import-test-support.ts';

const LOINC_CSV = `${FIXTURES}loinc/Loinc_2.76/LoincTable/Loinc.csv`;

describe('LOINC table (Loinc.csv)', () => {
  it('reads terms with their long common name, short names and the six axes as properties', async () => {
    const content = readLoinc(LOINC_CSV);
    expect(content.header).toMatchObject({ url: 'http://loinc.org', version: '2.76' });
    const concepts = await conceptsByCode(content.concepts);
    expect([...concepts.keys()]).toEqual(['2345-7', '718-7', '8867-4', '1554-5', '2339-0', '99999-9']);
    const glucose = concepts.get('2345-7');
    expect(glucose).toMatchObject({
      code: '2345-7',
      display: 'Glucose [Mass/volume] in Serum or Plasma',
      parents: [],
      designations: [
        { language: 'en', use: { code: 'SHORTNAME' }, value: 'Glucose SerPl-mCnc' },
        { language: 'en', use: { code: 'DisplayName' }, value: 'Glucose [Mass/Vol]' },
      ],
    });
    expect(glucose?.active).toBeUndefined();
    const property = (code: string) => glucose?.properties?.find((p) => p.code === code)?.value;
    expect(property('COMPONENT')).toEqual({ type: 'string', value: 'Glucose' });
    expect(property('PROPERTY')).toEqual({ type: 'string', value: 'MCnc' });
    expect(property('TIME_ASPCT')).toEqual({ type: 'string', value: 'Pt' });
    expect(property('SYSTEM')).toEqual({ type: 'string', value: 'Ser/Plas' });
    expect(property('SCALE_TYP')).toEqual({ type: 'string', value: 'Qn' });
    expect(property('METHOD_TYP')).toBeUndefined();
    expect(property('CLASS')).toEqual({ type: 'string', value: 'CHEM' });
  });

  it('marks DEPRECATED and DISCOURAGED terms inactive, keeps TRIAL active', async () => {
    const concepts = await conceptsByCode(readLoinc(LOINC_CSV).concepts);
    expect(concepts.get('1554-5')?.active).toBe(false);
    expect(concepts.get('2339-0')?.active).toBe(false);
    expect(concepts.get('99999-9')?.active).toBeUndefined();
  });

  it('keeps quoted commas, quotes and line breaks inside a field', async () => {
    const concepts = await conceptsByCode(readLoinc(LOINC_CSV).concepts);
    const trial = concepts.get('99999-9');
    expect(trial?.display).toBe('Example trial analyte [Presence] in Serum by Immunoassay\nsecond line');
    expect(trial?.properties?.[0]).toEqual({
      code: 'COMPONENT',
      value: { type: 'string', value: 'Example trial analyte, "quoted", with comma' },
    });
  });

  it('finds the version in the release path, or asks for it', () => {
    expect(loincVersionFromPath('/downloads/Loinc_2.76/LoincTable/Loinc.csv')).toBe('2.76');
    expect(loincVersionFromPath('/tmp/loinc-2.80.csv')).toBe('2.80');
    expect(() => readLoinc('/tmp/table.csv')).toThrow(/pass the version/);
  });

  it('inactivates exactly the deprecated and discouraged statuses, whatever the case (property)', () => {
    const status = fc.constantFrom(
      'ACTIVE',
      'TRIAL',
      'DISCOURAGED',
      'DEPRECATED',
      'active',
      'Deprecated',
      '',
    );
    fc.assert(
      fc.property(status, fc.stringMatching(/^\d{1,6}-\d$/), (value, code) => {
        const concept = loincConcept({ LOINC_NUM: code, STATUS: value, LONG_COMMON_NAME: 'x' }, 'row');
        expect(concept.active === false).toBe(['DISCOURAGED', 'DEPRECATED'].includes(value.toUpperCase()));
      }),
    );
  });
});
