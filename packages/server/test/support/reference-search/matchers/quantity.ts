/**
 * quantity (http://hl7.org/fhir/R4/search.html#quantity): `[prefix]number|system|code`,
 * `number||code` (the code or the human unit) or `number` (any unit). The number compares as for
 * number search (implied precision for `eq`/`ne`, exact for the other prefixes, ±10% for `ap`).
 * With a UCUM unit, a UCUM value in any commensurable unit is converted into the search's unit
 * (`5.4|http://unitsofmeasure.org|mg` matches `5400 ug`): the spec's "canonical units" option,
 * done here by asking UCUM to convert the value rather than by canonical forms.
 * A value with a comparator is the interval it leaves open (`<5` is everything up to 5).
 */
import { createRequire } from 'node:module';
import { splitUnescaped, unescapeSearchValue } from '../escaping.ts';
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

export const UCUM = 'http://unitsofmeasure.org';
const CURRENCIES = 'urn:iso:std:iso:4217';
const QUANTITY_TYPES = [
  'Quantity',
  'SimpleQuantity',
  'MoneyQuantity',
  'Age',
  'Count',
  'Distance',
  'Duration',
];

export interface TargetQuantity {
  value: ExactDecimal;
  /** The interval the value stands for: open below for `<`/`<=`, above for `>`/`>=`. */
  openBelow: boolean;
  openAbove: boolean;
  system: string | undefined;
  code: string | undefined;
  unit: string | undefined;
}

export const quantityMatcher: ParameterMatcher = {
  type: 'quantity',
  modifiers: [],
  hasValue: (values) => values.some((value) => quantityOf(value) !== undefined),
  matches(values, alternatives) {
    const targets = values.flatMap((value) => quantityOf(value) ?? []);
    return alternatives.some((alternative) => {
      const [written = '', system, code] = splitUnescaped(alternative, '|').map(unescapeSearchValue);
      const { prefix, rest } = splitPrefix(written);
      const number = parseExactDecimal(rest);
      if (number === undefined) throw new Error(`not a quantity search value: ${alternative}`);
      return targets.some((target) => {
        const value = inSearchUnit(target, system || undefined, code || undefined);
        return value !== undefined && compare(prefix, number, { ...target, value });
      });
    });
  },
};

/** The target's value in the unit the search names, or undefined when the units do not agree. */
function inSearchUnit(
  target: TargetQuantity,
  system: string | undefined,
  code: string | undefined,
): ExactDecimal | undefined {
  if (code === undefined) return system === undefined || system === target.system ? target.value : undefined;
  if (system === undefined) return target.code === code || target.unit === code ? target.value : undefined;
  if (target.system === system && target.code === code) return target.value;
  if (system !== UCUM || target.system !== UCUM || target.code === undefined) return undefined;
  return convert(target.value, target.code, code);
}

function compare(prefix: string, search: ExactDecimal, target: TargetQuantity): boolean {
  const open = target.openBelow || target.openAbove;
  const low = target.openBelow ? undefined : target.value;
  const high = target.openAbove ? undefined : target.value;
  const cmp = (a: ExactDecimal | undefined, b: ExactDecimal, infinite: 1 | -1) =>
    a === undefined ? infinite : compareDecimals(a, b);
  switch (prefix) {
    case 'eq':
    case 'ne': {
      const [from, to] = around(search, 'half-digit');
      const within =
        !open && compareDecimals(target.value, from) >= 0 && compareDecimals(target.value, to) < 0;
      return prefix === 'eq' ? within : !within;
    }
    case 'gt':
      return cmp(high, search, 1) > 0;
    case 'ge':
      return cmp(high, search, 1) >= 0;
    case 'lt':
      return cmp(low, search, -1) < 0;
    case 'le':
      return cmp(low, search, -1) <= 0;
    case 'sa':
      return cmp(low, search, -1) > 0;
    case 'eb':
      return cmp(high, search, 1) < 0;
    case 'ap': {
      const [from, to] = around(search, 'ten-percent');
      return cmp(low, to, -1) <= 0 && cmp(high, from, 1) >= 0;
    }
    default:
      throw new Error(`unknown prefix ${prefix}`);
  }
}

export function quantityOf(selected: SelectedValue): TargetQuantity | undefined {
  const { type, data } = selected;
  if (!isObject(data) || typeof data.value !== 'number') return undefined;
  const value = decimalOfNumber(data.value);
  if (value === undefined) return undefined;
  const money = type === 'Money';
  if (!money && (type === null || !QUANTITY_TYPES.includes(type))) return undefined;
  const comparator = data.comparator;
  return {
    value,
    openBelow: comparator === '<' || comparator === '<=',
    openAbove: comparator === '>' || comparator === '>=',
    system: money ? (typeof data.currency === 'string' ? CURRENCIES : undefined) : text(data.system),
    code: money ? text(data.currency) : text(data.code),
    unit: money ? undefined : text(data.unit),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

interface Ucum {
  convertUnitTo(from: string, value: number, to: string): unknown;
}

let ucum: Ucum | undefined;

/**
 * `value` in `from` as `to`, by UCUM; undefined when UCUM finds the units incommensurable. A unit
 * that converts by a factor (almost all) converts exactly: the factor, rounded to 12 digits to
 * drop float noise, multiplies the exact decimal. Others (`Cel`) convert the value as a float.
 */
export function convert(value: ExactDecimal, from: string, to: string): ExactDecimal | undefined {
  if (from === to) return value;
  const factor = conversionFactor(from, to);
  if (factor === 'incommensurable') return undefined;
  if (factor === 'not-linear') {
    return fromFloat(ucumConvert(from, Number(`${value.coefficient}e${value.exponent}`), to));
  }
  return { coefficient: value.coefficient * factor.coefficient, exponent: value.exponent + factor.exponent };
}

type Factor = ExactDecimal | 'incommensurable' | 'not-linear';

const factors = new Map<string, Factor>();

function conversionFactor(from: string, to: string): Factor {
  const key = `${from}\u0000${to}`;
  const cached = factors.get(key);
  if (cached !== undefined) return cached;
  const one = ucumConvert(from, 1, to);
  const ten = ucumConvert(from, 10, to);
  const factor: Factor =
    one === undefined || ten === undefined
      ? 'incommensurable'
      : Math.abs(ten - 10 * one) > Math.abs(one) * 1e-9
        ? 'not-linear'
        : (fromFloat(one) ?? 'incommensurable');
  factors.set(key, factor);
  return factor;
}

function fromFloat(value: number | undefined): ExactDecimal | undefined {
  return value === undefined ? undefined : parseExactDecimal(Number(value.toPrecision(12)).toString());
}

function ucumConvert(from: string, value: number, to: string): number | undefined {
  ucum ??= loadUcum();
  const result = ucum.convertUnitTo(from, value, to);
  if (!isObject(result) || result.status !== 'succeeded' || typeof result.toVal !== 'number')
    return undefined;
  return result.toVal;
}

function loadUcum(): Ucum {
  const loaded: unknown = createRequire(import.meta.url)('@lhncbc/ucum-lhc');
  const utilities: unknown = isObject(loaded) ? loaded.UcumLhcUtils : undefined;
  const getInstance = typeof utilities === 'function' ? Reflect.get(utilities, 'getInstance') : undefined;
  if (typeof getInstance !== 'function') throw new Error('@lhncbc/ucum-lhc has no UcumLhcUtils.getInstance');
  const instance: unknown = getInstance.call(utilities);
  if (!isObject(instance) || typeof instance.convertUnitTo !== 'function') {
    throw new Error('@lhncbc/ucum-lhc: no convertUnitTo');
  }
  const convertUnitTo = instance.convertUnitTo;
  return { convertUnitTo: (from, value, to) => convertUnitTo.call(instance, from, value, to) };
}
