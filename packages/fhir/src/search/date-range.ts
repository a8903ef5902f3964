/**
 * The instants a FHIR date, dateTime or instant covers (http://hl7.org/fhir/R4/search.html#date):
 * every value is a range set by its precision, `2021` being 2021-01-01T00:00:00.000Z through
 * 2021-12-31T23:59:59.999Z. Bounds are ISO-8601 UTC instants with milliseconds, inclusive.
 *
 * A value without a time zone (every `date`, and a `dateTime` without one, which R4 forbids when
 * a time is given) is read as UTC. The spec leaves it to the server's local time; UTC keeps the
 * index independent of where the server runs, at the price of day boundaries that may sit a few
 * hours off the author's local day.
 */

export interface InstantRange {
  /** ISO-8601 UTC instant, or `-infinity` for a Period without a start. */
  low: string;
  /** ISO-8601 UTC instant, or `infinity` for a Period without an end. */
  high: string;
}

/** PostgreSQL `timestamptz` accepts these literals; they sort before/after every instant. */
export const NEGATIVE_INFINITY = '-infinity';
export const POSITIVE_INFINITY = 'infinity';

// year, month, day, hour, minute, second, fraction, zone: each part optional after the one before.
const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Years a PostgreSQL timestamptz and `Date.toISOString` both write as four digits. */
const FIRST_INSTANT = utc(1, 0, 1);
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The range of a date, dateTime or instant; undefined when the text is not a valid one. */
export function dateTimeRange(text: string): InstantRange | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, yearText, monthText, dayText, hourText, minuteText, secondText, fraction, zone] = match;
  const year = Number(yearText);
  const month = monthText === undefined ? 1 : Number(monthText);
  const day = dayText === undefined ? 1 : Number(dayText);
  const hour = Number(hourText ?? 0);
  const minute = Number(minuteText ?? 0);
  const second = Number(secondText ?? 0);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;

  // Digits beyond milliseconds cannot be stored; `.5` covers .500 through .599.
  const fractionDigits = fraction?.slice(0, 3) ?? '';
  const millisecond = Number(fractionDigits.padEnd(3, '0'));
  const start = utc(year, month - 1, day, hour, minute, second, millisecond) - offsetOf(zone);
  const end = nextAfter(start, { year, month, day, monthText, dayText, hourText, secondText, fraction });
  if (start < FIRST_INSTANT || end - 1 > LAST_INSTANT) return undefined;
  return { low: new Date(start).toISOString(), high: new Date(end - 1).toISOString() };
}

interface Precision {
  year: number;
  month: number;
  day: number;
  monthText: string | undefined;
  dayText: string | undefined;
  hourText: string | undefined;
  secondText: string | undefined;
  fraction: string | undefined;
}

/** The first instant after the range that starts at `start`, by the precision written. */
function nextAfter(start: number, p: Precision): number {
  if (p.monthText === undefined) return start + (utc(p.year + 1, 0, 1) - utc(p.year, 0, 1));
  if (p.dayText === undefined) return start + daysInMonth(p.year, p.month) * 24 * HOUR;
  if (p.hourText === undefined) return start + 24 * HOUR;
  if (p.secondText === undefined) return start + MINUTE;
  if (p.fraction === undefined) return start + 1000;
  return start + 10 ** Math.max(0, 3 - p.fraction.length);
}

/** Date.UTC, without its mapping of years 0–99 to 1900–1999. */
function utc(
  year: number,
  monthIndex: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  millisecond = 0,
): number {
  const date = new Date(Date.UTC(2000, monthIndex, day, hour, minute, second, millisecond));
  date.setUTCFullYear(year);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** `+02:00` → 2 h in ms; `Z` or absent (read as UTC, see above) → 0. */
function offsetOf(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * HOUR + Number(zone.slice(4, 6)) * MINUTE);
}

/**
 * A Period covers start through end (datatypes.html#Period); a missing end means ongoing and a
 * missing start unknown, both unbounded. Undefined when it has neither or a bound is malformed.
 */
export function periodRange(start: unknown, end: unknown): InstantRange | undefined {
  if (start === undefined && end === undefined) return undefined;
  const from = start === undefined ? undefined : boundRange(start);
  const to = end === undefined ? undefined : boundRange(end);
  if (from === null || to === null) return undefined;
  return { low: from?.low ?? NEGATIVE_INFINITY, high: to?.high ?? POSITIVE_INFINITY };
}

function boundRange(value: unknown): InstantRange | null {
  return (typeof value === 'string' ? dateTimeRange(value) : undefined) ?? null;
}

/** The smallest range covering all of `ranges` (ISO instants of one format compare as text). */
export function coveringRange(ranges: readonly InstantRange[]): InstantRange | undefined {
  const [first, ...rest] = ranges;
  if (first === undefined) return undefined;
  let { low, high } = first;
  for (const range of rest) {
    if (low !== NEGATIVE_INFINITY && (range.low === NEGATIVE_INFINITY || range.low < low)) low = range.low;
    if (high !== POSITIVE_INFINITY && (range.high === POSITIVE_INFINITY || range.high > high)) {
      high = range.high;
    }
  }
  return { low, high };
}
