/**
 * Quantity search values as the numbers the store compares (http://hl7.org/fhir/R4/search.html#quantity,
 * #prefix): implied precision, ±10% for `ap`, and canonical UCUM units like the index writes.
 */
import { describe, expect, it } from 'vitest';
import { canonicalQuantitySearch, quantitySearchNumbers } from '../src/search/quantity-search.ts';
import { parseQuantityValue } from '../src/search/query/prefixed-values.ts';

const UCUM = 'http://unitsofmeasure.org';
const quantity = (raw: string) => parseQuantityValue('value-quantity', raw);

describe('quantity search numbers (search.html#quantity)', () => {
  it('reads 5.4 as [5.35, 5.45) exactly, and ap as within 10%', () => {
    expect(quantitySearchNumbers(quantity('5.4||mg'))).toEqual({
      value: '5.4',
      low: '5.35',
      high: '5.45',
      approximateLow: '4.86',
      approximateHigh: '5.94',
    });
  });

  it('keeps the ap range ordered for a negative value', () => {
    expect(quantitySearchNumbers(quantity('ap-10'))).toMatchObject({
      approximateLow: '-11',
      approximateHigh: '-9',
    });
  });

  it('converts a UCUM search to canonical units, the way the index stores 5400 ug', () => {
    expect(canonicalQuantitySearch(quantity(`5.4|${UCUM}|mg`))).toEqual({
      code: 'g',
      value: '0.0054',
      low: '0.00535',
      high: '0.00545',
      approximateLow: '0.00486',
      approximateHigh: '0.00594',
    });
    expect(canonicalQuantitySearch(quantity(`5400|${UCUM}|ug`))).toMatchObject({
      code: 'g',
      value: '0.0054',
    });
  });

  it('converts each bound of a special unit by its function (37 Cel, ap within 10% of 37 Cel)', () => {
    expect(canonicalQuantitySearch(quantity(`ap37|${UCUM}|Cel`))).toEqual({
      code: 'K',
      value: '310.15',
      low: '309.65',
      high: '310.65',
      approximateLow: '306.45',
      approximateHigh: '313.85',
    });
  });

  it('keeps the mole in the canonical code, so mmol/L and 10*3/uL do not compare', () => {
    expect(canonicalQuantitySearch(quantity(`5.5|${UCUM}|mmol/L`))?.code).toBe('m-3.mol');
    expect(canonicalQuantitySearch(quantity(`5.5|${UCUM}|mol/m3`))?.code).toBe('m-3.mol');
    expect(canonicalQuantitySearch(quantity(`4.1|${UCUM}|10*3/uL`))?.code).toBe('m-3');
    expect(canonicalQuantitySearch(quantity(`2|${UCUM}|kat`))?.code).toBe('mol.s-1');
  });

  it('does not canonicalise without the UCUM system or with a unit UCUM cannot convert', () => {
    expect(canonicalQuantitySearch(quantity('5.4||mg'))).toBeUndefined();
    expect(canonicalQuantitySearch(quantity('5.4|http://snomed.info/sct|258684004'))).toBeUndefined();
    expect(canonicalQuantitySearch(quantity(`5.4|${UCUM}|not-a-unit`))).toBeUndefined();
  });

  it('parses the number of a quantity without float noise (search.html#number)', () => {
    expect(quantity('1.1')).toMatchObject({ low: '1.05', high: '1.15' });
    expect(quantity('1e2')).toMatchObject({ low: '50', high: '150' });
  });
});
