/**
 * number (http://hl7.org/fhir/R4/search.html#number): without a prefix (and with `eq`/`ne`) the
 * search value stands for the range of its precision, `100` being [99.5, 100.5); `gt lt ge le`
 * compare with the value exactly ("greater than exactly 100"). For a number in a resource, which
 * is a point, `sa` and `eb` are `gt` and `lt`; `ap` is within 10% of the search value.
 */
import { isObject, type SelectedValue } from '../select-values.ts';
import {
  around,
  compareDecimals,
  decimalOfNumber,
  type ExactDecimal,
  parseExactDecimal,
} from './exact-decimal.ts';
import type { ParameterMatcher } from './matcher.ts';
import { splitPrefix } from './prefix.ts';

export const numberMatcher: ParameterMatcher = {
  type: 'number',
  modifiers: [],
  hasValue: (values) => values.some((value) => numberOf(value) !== undefined),
  matches(values, alternatives) {
    const targets = values.flatMap((value) => numberOf(value) ?? []);
    return alternatives.some((alternative) => {
      const { prefix, rest } = splitPrefix(alternative);
      const search = parseExactDecimal(rest);
      if (search === undefined) throw new Error(`not a number search value: ${alternative}`);
      return targets.some((target) => compare(prefix, search, target));
    });
  },
};

function compare(prefix: string, search: ExactDecimal, target: ExactDecimal): boolean {
  const order = compareDecimals(target, search);
  const within = ([low, high]: [ExactDecimal, ExactDecimal], inclusiveHigh: boolean) =>
    compareDecimals(target, low) >= 0 && compareDecimals(target, high) < (inclusiveHigh ? 1 : 0);
  switch (prefix) {
    case 'eq':
      return within(around(search, 'half-digit'), false);
    case 'ne':
      return !within(around(search, 'half-digit'), false);
    case 'gt':
    case 'sa':
      return order > 0;
    case 'lt':
    case 'eb':
      return order < 0;
    case 'ge':
      return order >= 0;
    case 'le':
      return order <= 0;
    case 'ap':
      return within(around(search, 'ten-percent'), true);
    default:
      throw new Error(`unknown prefix ${prefix}`);
  }
}

export function numberOf(value: SelectedValue): ExactDecimal | undefined {
  const { data } = value;
  if (typeof data === 'number') return decimalOfNumber(data);
  if (typeof data === 'string' && value.type === 'decimal') return parseExactDecimal(data);
  // fhirpath.js 5 hands decimals over as an FP_Decimal carrying the text it was read from.
  if (isObject(data) && typeof data.asStr === 'string') return parseExactDecimal(data.asStr);
  return undefined;
}
