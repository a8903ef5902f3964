/**
 * Date parameter values as index ranges (http://hl7.org/fhir/R4/search.html#date): date, dateTime
 * and instant by their precision, Period from start to end, Timing over its events and bounds.
 * Other types a date expression may select (Age, Range, string onsets) carry no instants.
 */
import { isRecord } from '../resource.ts';
import { coveringRange, dateTimeRange, type InstantRange, periodRange } from './date-range.ts';
import type { DateIndexEntry } from './index-types.ts';
import type { TypedValue } from './index-values.ts';

export function dateEntries(param: string, values: readonly TypedValue[]): DateIndexEntry[] {
  const entries: DateIndexEntry[] = [];
  const seen = new Set<string>();
  for (const { type, data } of values) {
    const range = rangeOf(type, data);
    if (!range) continue;
    const key = `${range.low}/${range.high}`;
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push({ param, low: range.low, high: range.high });
  }
  return entries;
}

function rangeOf(type: string | null, data: unknown): InstantRange | undefined {
  // Computed values (type null) that are text are read as dateTimes.
  if (typeof data === 'string') return isDateType(type) || type === null ? dateTimeRange(data) : undefined;
  if (!isRecord(data)) return undefined;
  if (type === 'Period') return periodRange(data.start, data.end);
  if (type === 'Timing') return timingRange(data);
  return undefined;
}

function isDateType(type: string | null): boolean {
  return type === 'date' || type === 'dateTime' || type === 'instant';
}

/** From the first event to the last, widened by `repeat.boundsPeriod` (datatypes.html#Timing). */
function timingRange(timing: Record<string, unknown>): InstantRange | undefined {
  const ranges: InstantRange[] = [];
  if (Array.isArray(timing.event)) {
    for (const event of timing.event) {
      const range = typeof event === 'string' ? dateTimeRange(event) : undefined;
      if (range) ranges.push(range);
    }
  }
  const bounds = isRecord(timing.repeat) ? timing.repeat.boundsPeriod : undefined;
  if (isRecord(bounds)) {
    const range = periodRange(bounds.start, bounds.end);
    if (range) ranges.push(range);
  }
  return coveringRange(ranges);
}
