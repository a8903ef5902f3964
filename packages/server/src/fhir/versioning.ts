/**
 * Version headers of http://hl7.org/fhir/R4/http.html#versioning: weak ETags carrying the
 * versionId, and HTTP dates for Last-Modified / If-Modified-Since.
 */
import { fhirError } from '@concordia/fhir';

export function etagOf(versionId: number): string {
  return `W/"${versionId}"`;
}

/** Accepts `W/"3"`, `"3"` and (leniently) a bare `3`; anything else is a client error. */
export function parseETagVersion(header: string, headerName: string): number {
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  const digits = match?.[1];
  if (digits === undefined) {
    throw fhirError('invalid', 'invalid', `${headerName} must be a version ETag like W/"3", got: ${header}`);
  }
  return Number(digits);
}

/** `If-None-Match` may also be `*` or a list of ETags. */
export function ifNoneMatchHits(header: string, versionId: number): boolean {
  if (header.trim() === '*') return true;
  return header
    .split(',')
    .map((tag) => /(\d+)/.exec(tag)?.[1])
    .some((digits) => digits !== undefined && Number(digits) === versionId);
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const UTC_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/;

/**
 * RFC 7231 IMF-fixdate of a stored instant. Stored instants are UTC (`…Z`), so the fields are
 * sliced rather than parsed through `Date`, which is measurably slow on the read path.
 */
export function httpDate(instant: string): string {
  const match = UTC_INSTANT.exec(instant);
  if (match === null) return new Date(instant).toUTCString();
  const [, year = '', month = '', day = '', time = ''] = match;
  const weekday = dayOfWeek(Number(year), Number(month), Number(day));
  return `${WEEKDAYS[weekday]}, ${day} ${MONTHS[Number(month) - 1]} ${year} ${time} GMT`;
}

/** Sakamoto's method on the proleptic Gregorian calendar (as `Date` uses); 0 is Sunday. */
const MONTH_OFFSETS = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
function dayOfWeek(year: number, month: number, day: number): number {
  const y = month < 3 ? year - 1 : year;
  const offset = MONTH_OFFSETS[month - 1] ?? 0;
  return (y + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400) + offset + day) % 7;
}

/** Last-Modified has one-second resolution, so compare at whole seconds (RFC 7232 §3.3). */
export function notModifiedSince(header: string, lastUpdated: string): boolean {
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false;
  return Math.floor(Date.parse(lastUpdated) / 1000) * 1000 <= since;
}
