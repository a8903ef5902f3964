/**
 * Number and Quantity parameter values as index ranges (http://hl7.org/fhir/R4/search.html#number,
 * #quantity). Values are decimals kept as exact text (see decimal.ts).
 */
import { isRecord } from '../resource.ts';
import { type Decimal, decimalFromNumber, formatDecimal, implicitRange, parseDecimal } from './decimal.ts';
import type { NumberIndexEntry, QuantityIndexEntry } from './index-types.ts';
import type { TypedValue } from './index-values.ts';
import { canonicalUnit, UCUM_SYSTEM } from './ucum-canonical.ts';

const INTEGER_TYPES: ReadonlySet<string> = new Set(['integer', 'positiveInt', 'unsignedInt']);

/** The Quantity profiles and specialisations of datatypes.html#Quantity, plus Money. */
const QUANTITY_TYPES: ReadonlySet<string> = new Set([
  'Quantity',
  'SimpleQuantity',
  'MoneyQuantity',
  'Age',
  'Count',
  'Distance',
  'Duration',
  'Money',
]);

/** Money has no system/code: its `currency` is an ISO 4217 code (datatypes.html#Money). */
const CURRENCY_SYSTEM = 'urn:iso:std:iso:4217';

/** Open bounds of a Quantity with a comparator; PostgreSQL `numeric` accepts both (≥ 14). */
const NEGATIVE_INFINITY = '-Infinity';
const POSITIVE_INFINITY = 'Infinity';

export function numberEntries(param: string, values: readonly TypedValue[]): NumberIndexEntry[] {
  const entries: NumberIndexEntry[] = [];
  for (const { type, data } of values) {
    const value = decimalOf(data);
    if (!value) continue;
    const text = formatDecimal(value);
    if (entries.some((entry) => entry.value === text)) continue;
    // An integer is exact: `100` is 100, not [99.5, 100.5), so `eq100.0` still matches it.
    if (type !== null && INTEGER_TYPES.has(type)) {
      entries.push({ param, value: text, low: text, high: text });
    } else {
      const { low, high } = implicitRange(value);
      entries.push({ param, value: text, low: formatDecimal(low), high: formatDecimal(high) });
    }
  }
  return entries;
}

export function quantityEntries(param: string, values: readonly TypedValue[]): QuantityIndexEntry[] {
  const entries: QuantityIndexEntry[] = [];
  for (const { type, data } of values) {
    if (type === null || !QUANTITY_TYPES.has(type) || !isRecord(data)) continue;
    const entry = quantityEntry(param, type, data);
    if (entry && !entries.some((other) => sameQuantity(entry, other))) entries.push(entry);
  }
  return entries;
}

function quantityEntry(
  param: string,
  type: string,
  quantity: Record<string, unknown>,
): QuantityIndexEntry | undefined {
  const value = typeof quantity.value === 'number' ? decimalFromNumber(quantity.value) : undefined;
  if (!value) return undefined;
  const money = type === 'Money';
  const system = money
    ? typeof quantity.currency === 'string'
      ? CURRENCY_SYSTEM
      : null
    : text(quantity.system);
  const code = money ? text(quantity.currency) : text(quantity.code);
  const bounds = openBounds(quantity.comparator);
  const range = implicitRange(value);
  const canonical = system === UCUM_SYSTEM && code !== null ? canonicalUnit(code) : null;
  const canonicalValue = canonical?.toCanonical(value);
  const canonicalLow = canonicalValue && canonical ? canonical.toCanonical(range.low) : undefined;
  const canonicalHigh = canonicalValue && canonical ? canonical.toCanonical(range.high) : undefined;
  const converted = canonical && canonicalValue && canonicalLow && canonicalHigh;
  return {
    param,
    value: formatDecimal(value),
    low: bounds.lowOpen ? NEGATIVE_INFINITY : formatDecimal(range.low),
    high: bounds.highOpen ? POSITIVE_INFINITY : formatDecimal(range.high),
    system,
    code,
    unit: text(quantity.unit),
    canonicalCode: converted ? canonical.code : null,
    canonicalValue: converted ? formatDecimal(canonicalValue) : null,
    canonicalLow: !converted ? null : bounds.lowOpen ? NEGATIVE_INFINITY : formatDecimal(canonicalLow),
    canonicalHigh: !converted ? null : bounds.highOpen ? POSITIVE_INFINITY : formatDecimal(canonicalHigh),
  };
}

/** `<5` covers everything below 5, `>=5` everything from 5 up (datatypes.html#Quantity comparator). */
function openBounds(comparator: unknown): { lowOpen: boolean; highOpen: boolean } {
  return {
    lowOpen: comparator === '<' || comparator === '<=',
    highOpen: comparator === '>' || comparator === '>=',
  };
}

/** A JSON number, or fhirpath.js's wrapper of a `decimal` (`{ value, asStr }`, fhirpath ≥ 4). */
function decimalOf(data: unknown): Decimal | undefined {
  if (typeof data === 'number') return decimalFromNumber(data);
  if (!isRecord(data)) return undefined;
  if (typeof data.asStr === 'string') return parseDecimal(data.asStr);
  return typeof data.value === 'number' ? decimalFromNumber(data.value) : undefined;
}

function sameQuantity(a: QuantityIndexEntry, b: QuantityIndexEntry): boolean {
  return (
    a.value === b.value && a.low === b.low && a.high === b.high && a.system === b.system && a.code === b.code
  );
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
