/**
 * Values of ordered parameter types (http://hl7.org/fhir/R4/search.html#prefix): a prefix, then a
 * number, a date or a quantity, each read as the range its precision covers, because a search
 * value of `2020` or `100` stands for every value that rounds to it.
 */
import { formatDecimal, implicitRange, parseDecimal } from '../decimal.ts';
import { splitUnescaped, unescapeSearchValue } from './escaping.ts';
import { malformed } from './parameter-issue.ts';
import type { DateValue, NumberValue, Prefix, QuantityValue } from './search-query.ts';

const PREFIXES: readonly Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const head = value.slice(0, 2);
  const prefix = PREFIXES.find((candidate) => candidate === head);
  return prefix === undefined ? { prefix: 'eq', rest: value } : { prefix, rest: value.slice(2) };
}

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * `2020` → [2020-01-01, 2021-01-01). A dateTime without a zone is read as UTC (the spec leaves it
 * to the server; UTC keeps results independent of where the server runs).
 */
export function parseDateValue(parameter: string, raw: string): DateValue {
  const { prefix, rest } = splitPrefix(raw);
  const match = DATE.exec(rest);
  if (match === null) throw malformed(parameter, `'${raw}' is not a FHIR date or dateTime`);
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const y = Number(year);
  const mo = month === undefined ? 1 : Number(month);
  const d = day === undefined ? 1 : Number(day);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) throw malformed(parameter, `'${raw}' is not a valid date`);
  let low: number;
  let high: number;
  if (hour === undefined || minute === undefined) {
    low = Date.UTC(y, mo - 1, d);
    high =
      month === undefined ? Date.UTC(y + 1, 0, 1) : day === undefined ? Date.UTC(y, mo, 1) : low + 86_400_000;
    if (new Date(low).getUTCDate() !== d) throw malformed(parameter, `'${raw}' is not a valid date`);
  } else {
    const offset = zoneOffsetMinutes(zone);
    const base = Date.UTC(y, mo - 1, d, Number(hour), Number(minute), Number(second ?? 0));
    const millis = fraction === undefined ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
    low = base + millis - offset * 60_000;
    // A fraction has the precision of its digits: `.5` is [.500, .600), as the indexer reads it.
    const step =
      second === undefined ? 60_000 : fraction === undefined ? 1000 : 10 ** Math.max(0, 4 - fraction.length);
    high = low + step;
  }
  if (!Number.isFinite(low) || !Number.isFinite(high)) {
    throw malformed(parameter, `'${raw}' is not a valid date`);
  }
  return { prefix, low: new Date(low).toISOString(), high: new Date(high).toISOString(), text: rest };
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
}

/**
 * search.html#number: the range is ± half a unit of the last significant digit, computed on the
 * decimal text (binary floats would make `5.4` start at 5.3500000000000005 and miss a stored 5.35).
 */
export function parseNumberValue(parameter: string, raw: string): NumberValue {
  const { prefix, rest } = splitPrefix(raw);
  const value = parseDecimal(rest);
  if (value === undefined) throw malformed(parameter, `'${raw}' is not a number`);
  const { low, high } = implicitRange(value);
  return { prefix, value: rest, low: formatDecimal(low), high: formatDecimal(high) };
}

/** search.html#quantity: `[prefix]number|system|code`, `number||code` or `number`. */
export function parseQuantityValue(parameter: string, raw: string): QuantityValue {
  const [number = '', system, code, ...more] = splitUnescaped(raw, '|');
  if (more.length > 0 || (system !== undefined && code === undefined)) {
    throw malformed(parameter, `'${raw}' is not a quantity (number|system|code)`);
  }
  const parsed = parseNumberValue(parameter, number);
  const systemText = system === undefined ? '' : unescapeSearchValue(system);
  const codeText = code === undefined ? '' : unescapeSearchValue(code);
  return {
    ...parsed,
    ...(systemText !== '' ? { system: systemText } : {}),
    ...(codeText !== '' ? { code: codeText } : {}),
  };
}
