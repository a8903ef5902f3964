/**
 * The instants a date, dateTime or instant stands for (http://hl7.org/fhir/R4/search.html#date):
 * every value is the range of its precision, `2013-01` being the whole of January. Ranges here are
 * half-open, [low, high), in epoch milliseconds; a Period's missing bound is ±Infinity.
 * A value without a time zone is read as UTC, the server's documented choice (docs/search.md).
 */

export interface InstantRange {
  low: number;
  high: number;
}

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The range of `text`, or undefined when it is not a FHIR date, dateTime or instant. */
export function instantRange(text: string): InstantRange | undefined {
  const match = DATE_TIME.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const y = Number(year);
  const mo = Number(month ?? '1');
  const d = Number(day ?? '1');
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return undefined;
  if (Number(hour ?? 0) > 23 || Number(minute ?? 0) > 59 || Number(second ?? 0) > 59) return undefined;
  if (month === undefined) return { low: utc(y, 1, 1), high: utc(y + 1, 1, 1) };
  if (day === undefined)
    return { low: utc(y, mo, 1), high: mo === 12 ? utc(y + 1, 1, 1) : utc(y, mo + 1, 1) };
  const midnight = utc(y, mo, d);
  if (hour === undefined || minute === undefined) return { low: midnight, high: midnight + DAY };
  const shift = zoneMinutes(zone) * MINUTE;
  const start =
    midnight + Number(hour) * HOUR + Number(minute) * MINUTE + Number(second ?? 0) * SECOND - shift;
  if (second === undefined) return { low: start, high: start + MINUTE };
  if (fraction === undefined) return { low: start, high: start + SECOND };
  // `.5` is .500 up to .600; digits past the millisecond narrow nothing we can hold.
  const digits = Math.min(fraction.length, 3);
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'));
  return { low: start + millis, high: start + millis + 10 ** (3 - digits) };
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function utc(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(0, 0, 0, 0);
  return date.getTime();
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function zoneMinutes(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
}
