/**
 * Text-format result parsers shared by both adapters, so that `pg` and PGlite hand the store the
 * same JavaScript values. Timestamps are stored truncated to milliseconds (the precision of a
 * FHIR instant we emit), so the ISO string round-trips exactly.
 */

export const OID_INT8 = 20;
export const OID_TIMESTAMPTZ = 1184;

/** `int8` as a number; values past 2^53 would lose digits, so they fail loudly instead. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`int8 value out of the safe integer range: ${text}`);
  return value;
}

// PostgreSQL's ISO DateStyle output: `2026-11-24 14:15:08.123456+00`, offset possibly `+05:30`.
const TIMESTAMPTZ_TEXT =
  /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?([+-]\d{2})(?::(\d{2}))?(?::\d{2})?$/;

/**
 * `timestamptz` as `2026-11-24T14:15:08.123Z` (FHIR instant, UTC, milliseconds). The open ends of
 * an indexed Period, `-infinity`/`infinity`, stay as PostgreSQL writes them: they reach Node only
 * as `_sort` keys, which go back into the cursor's `::timestamptz` as they are.
 */
export function parseTimestamptz(text: string): string {
  if (text === '-infinity' || text === 'infinity') return text;
  // Sessions run in UTC (both adapters set TimeZone=UTC): `2026-11-24 14:15:08.123+00` is the
  // common shape, turned into an instant by slicing alone since this runs for every row read.
  if (text.length === 26 && text.endsWith('+00') && text[10] === ' ' && text[19] === '.') {
    return `${text.slice(0, 10)}T${text.slice(11, 23)}Z`;
  }
  const match = TIMESTAMPTZ_TEXT.exec(text);
  if (match === null) throw new RangeError(`Unexpected timestamptz text: ${text}`);
  const [, date, time, fraction = '', offsetHours, offsetMinutes = '00'] = match;
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  const instant = new Date(`${date}T${time}.${millis}${offsetHours}:${offsetMinutes}`);
  if (Number.isNaN(instant.getTime())) throw new RangeError(`Invalid timestamptz: ${text}`);
  return instant.toISOString();
}
