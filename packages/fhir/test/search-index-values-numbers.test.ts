import { describe, expect, it } from 'vitest';
import { formatDecimal, implicitRange, parseDecimal } from '../src/search/decimal.ts';
import { indexResource } from '../src/search/index-resource.ts';

function rangeOf(text: string) {
  const value = parseDecimal(text);
  if (!value) throw new Error(`not a decimal: ${text}`);
  const { low, high } = implicitRange(value);
  return { value: formatDecimal(value), low: formatDecimal(low), high: formatDecimal(high) };
}

describe('a number stands for the range of its precision (search.html#number)', () => {
  it.each([
    ['100', '100', '99.5', '100.5'],
    ['100.00', '100', '99.995', '100.005'],
    ['1e2', '100', '50', '150'],
    ['1.5E-3', '0.0015', '0.00145', '0.00155'],
    ['0.02', '0.02', '0.015', '0.025'],
    ['0', '0', '-0.5', '0.5'],
    ['-7.25', '-7.25', '-7.255', '-7.245'],
  ])('%s is %s in [%s, %s)', (text, value, low, high) => {
    expect(rangeOf(text)).toEqual({ value, low, high });
  });

  it('refuses text that is not a decimal, and absurd exponents', () => {
    expect(parseDecimal('1,5')).toBeUndefined();
    expect(parseDecimal('NaN')).toBeUndefined();
    expect(parseDecimal('1e99999')).toBeUndefined();
  });

  it('indexes a decimal element with its implicit range (RiskAssessment.prediction.probability)', () => {
    const index = indexResource({
      resourceType: 'RiskAssessment',
      id: 'ra1',
      status: 'final',
      subject: { reference: 'Patient/p1' },
      prediction: [{ probabilityDecimal: 0.02 }, { probabilityDecimal: 0.4 }],
    });
    expect(index.numbers).toEqual([
      { param: 'probability', value: '0.02', low: '0.015', high: '0.025' },
      { param: 'probability', value: '0.4', low: '0.35', high: '0.45' },
    ]);
  });

  it('indexes an integer as exact: 3 is [3, 3], so eq3.0 still matches it (MolecularSequence.variant.start)', () => {
    const index = indexResource({
      resourceType: 'MolecularSequence',
      id: 'ms1',
      coordinateSystem: 0,
      variant: [{ start: 3, end: 4 }],
    });
    expect(index.numbers).toEqual([
      { param: 'variant-end', value: '4', low: '4', high: '4' },
      { param: 'variant-start', value: '3', low: '3', high: '3' },
    ]);
  });

  it('ignores a Range where a number parameter meets one (RiskAssessment.probabilityRange)', () => {
    const index = indexResource({
      resourceType: 'RiskAssessment',
      id: 'ra2',
      status: 'final',
      subject: { reference: 'Patient/p1' },
      prediction: [{ probabilityRange: { low: { value: 0.1 }, high: { value: 0.2 } } }],
    });
    expect(index.numbers).toBeUndefined();
  });
});
