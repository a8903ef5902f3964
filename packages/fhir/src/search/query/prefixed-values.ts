/**
 * Values of ordered parameter types (http://hl7.org/fhir/R4/search.html#prefix): a prefix, then a
 * number, a date or a quantity, each read as the range its precision covers, because a search
 * value of `2020` or `100` stands for every value that rounds to it.
 */
import { dateTimeRange } from '../date-range.ts';
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

// The search syntax: at most nine fraction digits (nanoseconds); the calendar is checked by
// `dateTimeRange`, which the indexer uses too, so a value and a stored date share one reading.
const DATE = /^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * `2020` → [2020-01-01, 2021-01-01). A dateTime without a zone is read as UTC (the spec leaves it
 * to the server; UTC keeps results independent of where the server runs). A value the calendar
 * does not have (`2021-02-30T10:00Z`, `T24:00`, year 0000) is malformed, not rolled over: R4 dates
 * are YYYY(-MM(-DD(Thh:mm(:ss(.sss))(zone)))) with years 0001–9999 (datatypes.html#date, #dateTime).
 */
export function parseDateValue(parameter: string, raw: string): DateValue {
  const { prefix, rest } = splitPrefix(raw);
  if (!DATE.test(rest)) throw malformed(parameter, `'${raw}' is not a FHIR date or dateTime`);
  const range = dateTimeRange(rest);
  if (range === undefined) throw malformed(parameter, `'${raw}' is not a valid date`);
  // The index keeps the last millisecond covered; a search value is the half-open [low, high).
  const high = new Date(Date.parse(range.high) + 1).toISOString();
  return { prefix, low: range.low, high, text: rest };
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
