import { describe, expect, it } from 'vitest';
import { indexResource } from '../src/search/index-resource.ts';
import type { QuantityIndexEntry, ResourceIndex } from '../src/search/index-types.ts';
import { canonicalUnit } from '../src/search/ucum-canonical.ts';
import { observation } from './search-fixtures.ts';

const UCUM = 'http://unitsofmeasure.org';

function quantities(index: ResourceIndex, param: string): QuantityIndexEntry[] {
  return (index.quantities ?? []).filter((entry) => entry.param === param);
}

function valueQuantity(valueQuantity: Record<string, unknown>) {
  return indexResource(observation({ component: undefined, valueQuantity }));
}

describe('quantities in canonical UCUM units (search.html#quantity)', () => {
  it('indexes 5.4 mg and 5400 ug to the same canonical value and code', () => {
    const [mg] = quantities(
      valueQuantity({ value: 5.4, system: UCUM, code: 'mg', unit: 'mg' }),
      'value-quantity',
    );
    const [ug] = quantities(
      valueQuantity({ value: 5400, system: UCUM, code: 'ug', unit: 'µg' }),
      'value-quantity',
    );
    expect(mg).toEqual({
      param: 'value-quantity',
      value: '5.4',
      low: '5.35',
      high: '5.45',
      system: UCUM,
      code: 'mg',
      unit: 'mg',
      canonicalCode: 'g',
      canonicalValue: '0.0054',
      canonicalLow: '0.00535',
      canonicalHigh: '0.00545',
    });
    expect(ug?.canonicalCode).toBe('g');
    expect(ug?.canonicalValue).toBe(mg?.canonicalValue);
    expect(ug).toMatchObject({ value: '5400', low: '5399.5', high: '5400.5', canonicalLow: '0.0053995' });
  });

  it('writes derived units in base units with sorted exponents (mg/dL → g.m-3)', () => {
    const [entry] = quantities(valueQuantity({ value: 95, system: UCUM, code: 'mg/dL' }), 'value-quantity');
    expect(entry).toMatchObject({ canonicalCode: 'g.m-3', canonicalValue: '950' });
  });

  it('converts special units by their function, not a factor (37 Cel → 310.15 K)', () => {
    const [entry] = quantities(valueQuantity({ value: 37, system: UCUM, code: 'Cel' }), 'value-quantity');
    expect(entry).toMatchObject({ canonicalCode: 'K', canonicalValue: '310.15', canonicalLow: '309.65' });
  });

  it('keeps system and code of a non-UCUM quantity, with canonical fields null', () => {
    const [entry] = quantities(
      valueQuantity({ value: 3, system: 'http://snomed.info/sct', code: '258684004', unit: 'mg' }),
      'value-quantity',
    );
    expect(entry).toMatchObject({
      system: 'http://snomed.info/sct',
      code: '258684004',
      canonicalCode: null,
      canonicalValue: null,
      canonicalLow: null,
      canonicalHigh: null,
    });
  });

  it('leaves canonical fields null for a UCUM code that cannot be converted, and never throws', () => {
    for (const code of ['not-a-unit', '[IU]/L', '']) {
      const [entry] = quantities(valueQuantity({ value: 1, system: UCUM, code }), 'value-quantity');
      expect(entry?.canonicalValue, code).toBeNull();
    }
    expect(canonicalUnit('((')).toBeNull();
  });

  it('opens the bound a comparator leaves open (datatypes.html#Quantity: <5 mg)', () => {
    const [below] = quantities(
      valueQuantity({ value: 5, comparator: '<', system: UCUM, code: 'mg' }),
      'value-quantity',
    );
    expect(below).toMatchObject({
      low: '-Infinity',
      high: '5.5',
      canonicalLow: '-Infinity',
      canonicalHigh: '0.0055',
    });
    const [above] = quantities(
      valueQuantity({ value: 5, comparator: '>=', system: UCUM, code: 'mg' }),
      'value-quantity',
    );
    expect(above).toMatchObject({ low: '4.5', high: 'Infinity', canonicalHigh: 'Infinity' });
  });

  it('indexes component quantities of a blood pressure panel, comparator or not', () => {
    const index = indexResource(observation());
    expect(quantities(index, 'component-value-quantity').map((entry) => entry.value)).toEqual(['120', '80']);
    expect(quantities(index, 'combo-value-quantity')).toHaveLength(2);
  });

  it('indexes Money by its ISO 4217 currency (ChargeItem.priceOverride)', () => {
    const index = indexResource({
      resourceType: 'ChargeItem',
      id: 'ci1',
      status: 'billed',
      code: { text: 'visit' },
      subject: { reference: 'Patient/p1' },
      priceOverride: { value: 40, currency: 'EUR' },
    });
    expect(quantities(index, 'price-override')).toMatchObject([
      { value: '40', system: 'urn:iso:std:iso:4217', code: 'EUR', canonicalCode: null },
    ]);
  });

  it('skips a quantity without a value', () => {
    expect(valueQuantity({ system: UCUM, code: 'mg' }).quantities).toBeUndefined();
  });
});
