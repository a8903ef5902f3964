/**
 * A quantity search value (http://hl7.org/fhir/R4/search.html#quantity) as the numbers the store
 * compares with the search_quantity index: as written, and, when the search names a UCUM unit, in
 * the canonical base units the indexer writes too, so `5.4|http://unitsofmeasure.org|mg` finds a
 * stored `5400 ug`. Exact decimals, like the index (decimal.ts).
 */
import {
  compareDecimals,
  type Decimal,
  formatDecimal,
  implicitRange,
  multiply,
  parseDecimal,
} from './decimal.ts';
import type { QuantityValue } from './query/search-query.ts';
import { canonicalUnit, UCUM_SYSTEM } from './ucum-canonical.ts';

export interface QuantitySearchNumbers {
  /** The value itself, which `gt lt ge le sa eb` compare with. */
  value: string;
  /** [low, high): the range of the value's implied precision, for `eq` and `ne`. */
  low: string;
  high: string;
  /** [approximateLow, approximateHigh]: within 10% of the value, for `ap` (search.html#prefix). */
  approximateLow: string;
  approximateHigh: string;
}

/** The numbers in canonical UCUM units, with the canonical unit code (`g`, `g.m-3`, `K`). */
export interface CanonicalQuantitySearch extends QuantitySearchNumbers {
  code: string;
}

const NINE_TENTHS: Decimal = { coefficient: 9n, exponent: -1 };
const ELEVEN_TENTHS: Decimal = { coefficient: 11n, exponent: -1 };

/** The numbers as written; undefined only for a value the parser would not have accepted. */
export function quantitySearchNumbers(value: QuantityValue): QuantitySearchNumbers | undefined {
  const decimal = parseDecimal(value.value);
  return decimal === undefined ? undefined : numbersOf(decimal, (same) => same);
}

/**
 * The numbers in canonical units, or undefined when the search names no UCUM unit that UCUM can
 * convert (then it matches by system and code as written). Each bound is converted on its own,
 * so a unit converted by a function rather than a factor (`Cel`) gets the right range for `ap`.
 */
export function canonicalQuantitySearch(value: QuantityValue): CanonicalQuantitySearch | undefined {
  if (value.system !== UCUM_SYSTEM || value.code === undefined) return undefined;
  const unit = canonicalUnit(value.code);
  const decimal = parseDecimal(value.value);
  if (unit === null || decimal === undefined) return undefined;
  const numbers = numbersOf(decimal, unit.toCanonical);
  return numbers === undefined ? undefined : { code: unit.code, ...numbers };
}

function numbersOf(
  value: Decimal,
  convert: (value: Decimal) => Decimal | undefined,
): QuantitySearchNumbers | undefined {
  const precision = implicitRange(value);
  const converted = convert(value);
  const range = ordered(convert(precision.low), convert(precision.high));
  const approximate = ordered(convert(multiply(value, NINE_TENTHS)), convert(multiply(value, ELEVEN_TENTHS)));
  if (converted === undefined || range === undefined || approximate === undefined) return undefined;
  return {
    value: formatDecimal(converted),
    low: formatDecimal(range[0]),
    high: formatDecimal(range[1]),
    approximateLow: formatDecimal(approximate[0]),
    approximateHigh: formatDecimal(approximate[1]),
  };
}

/** The two bounds low first: 10% of a negative value, or a decreasing conversion, swaps them. */
function ordered(a: Decimal | undefined, b: Decimal | undefined): [Decimal, Decimal] | undefined {
  if (a === undefined || b === undefined) return undefined;
  return compareDecimals(a, b) <= 0 ? [a, b] : [b, a];
}
