/**
 * Moves the dates of a generated copy by a whole number of days.
 *
 * Which strings are dates is decided by the element name, not by the look of the value: a walk
 * that shifted every string shaped like a date would also move `Organization.address.postalCode`
 * values such as "1887" (Synthea writes Massachusetts ZIP codes without their leading 0) and any
 * identifier that happens to look like a year. The names below cover every date, dateTime and instant element Synthea R4 writes
 * (choice elements `…DateTime`/`…Date`/`…Instant`, Period.start/end, issued, created, authoredOn,
 * recorded, …); the value must still parse as a FHIR date to be touched.
 *
 * Only day precision and finer is shifted: a year or year-month has no day to move, and rounding
 * it would change its meaning. The time of day and the zone offset are kept as written, so an
 * instant stays an instant in the same zone.
 */

const namedDateElements = new Set([
  'issued',
  'created',
  'start',
  'end',
  'started',
  'authoredOn',
  'recorded',
  'date',
  'dateAsserted',
  'whenHandedOver',
  'whenPrepared',
  'lastOccurrence',
]);

const dateSuffixes = ['DateTime', 'Date', 'Instant'];

/** FHIR date at day precision, optionally followed by the time and zone of a dateTime or instant. */
const dayPrecision = /^(\d{4})-(\d{2})-(\d{2})((?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?)$/;

export function isDateElement(name: string): boolean {
  return namedDateElements.has(name) || dateSuffixes.some((suffix) => name.endsWith(suffix));
}

/** The value moved by `days`, or the value unchanged when it is not a day-precision FHIR date. */
export function shiftFhirDate(value: string, days: number): string {
  const match = dayPrecision.exec(value);
  if (match === null || days === 0) return value;
  const [, year, month, day, rest] = match;
  const shifted = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day) + days));
  if (Number.isNaN(shifted.getTime())) return value;
  return `${shifted.toISOString().slice(0, 10)}${rest ?? ''}`;
}
