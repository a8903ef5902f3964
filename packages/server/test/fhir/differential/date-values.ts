/**
 * Date search values (http://hl7.org/fhir/R4/search.html#date) near the ends of a value that
 * occurs: every prefix, every precision from the year to the millisecond, several time zones
 * (and none, read as UTC), sometimes one unit off so that each boundary is probed from both sides.
 */
import type { InstantRange } from '../../support/reference-search/instant-range.ts';
import { PREFIXES } from '../../support/reference-search/matchers/prefix.ts';
import type { SeededRandom } from '../../support/reference-search/seeded-random.ts';

type Precision = 'year' | 'month' | 'day' | 'minute' | 'second' | 'ms1' | 'ms2' | 'ms3';

const PRECISIONS: readonly Precision[] = [
  'year',
  'month',
  'day',
  'day',
  'minute',
  'second',
  'ms1',
  'ms2',
  'ms3',
];
const ZONES = ['Z', '', '+02:00', '-05:00', '+05:30'] as const;

/** A prefixed date value near one end of `range` (undefined: a random year), at a random precision. */
export function dateSearch(random: SeededRandom, range: InstantRange | undefined): string {
  const prefix = random.chance(0.2) ? '' : random.pickFrom(PREFIXES);
  const ends = range === undefined ? [] : [range.low, range.high - 1].filter(Number.isFinite);
  const anchor =
    ends.length === 0
      ? Date.UTC(random.integer(1900, 2035), random.integer(0, 11), random.integer(1, 28))
      : random.pickFrom(ends);
  return `${prefix}${formatInstant(random, anchor, random.pickFrom(PRECISIONS), random.pickFrom(ZONES))}`;
}

/**
 * `anchor` written at `precision` in `zone`'s wall-clock time, sometimes moved one unit of that
 * precision so that boundaries are probed from both sides.
 */
function formatInstant(random: SeededRandom, anchor: number, precision: Precision, zone: string): string {
  const offset = zoneMinutes(zone) * 60_000;
  const wall = new Date(anchor + offset);
  const step = random.pickFrom([0, 0, 0, 1, -1]);
  const field = { year: 0, month: 1, day: 2, minute: 4, second: 5, ms1: 6, ms2: 6, ms3: 6 }[precision];
  const fields = [
    wall.getUTCFullYear(),
    wall.getUTCMonth(),
    wall.getUTCDate(),
    wall.getUTCHours(),
    wall.getUTCMinutes(),
    wall.getUTCSeconds(),
    wall.getUTCMilliseconds(),
  ];
  const unit = precision === 'ms1' ? 100 : precision === 'ms2' ? 10 : 1;
  fields[field] = (fields[field] ?? 0) + step * unit;
  const [y = 0, mo = 0, d = 1, h = 0, mi = 0, s = 0, ms = 0] = fields;
  const moved = new Date(0);
  moved.setUTCFullYear(y, mo, d);
  moved.setUTCHours(h, mi, s, ms);
  const iso = moved.toISOString();
  if (precision === 'year') return iso.slice(0, 4);
  if (precision === 'month') return iso.slice(0, 7);
  const date = iso.slice(0, 10);
  if (precision === 'day') return date;
  const digits = precision === 'ms1' ? 1 : precision === 'ms2' ? 2 : precision === 'ms3' ? 3 : 0;
  const time = precision === 'minute' ? iso.slice(11, 16) : iso.slice(11, digits === 0 ? 19 : 20 + digits);
  return `${date}T${time}${zone}`;
}

function zoneMinutes(zone: string): number {
  if (zone === '' || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
}
