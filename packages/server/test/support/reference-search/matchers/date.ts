/**
 * date (http://hl7.org/fhir/R4/search.html#date, #prefix): a search value and each target value are
 * ranges; with the search range [L, H) and a target [a, b) the prefix table reads
 *   eq  L ≤ a and b ≤ H          (the search range fully contains the target)
 *   ne  not eq
 *   gt  b > H                    (the range above the search value overlaps the target)
 *   lt  a < L
 *   ge  gt or eq                 le  lt or eq
 *   sa  a ≥ H                    (no overlap, and the range above contains the target)
 *   eb  b ≤ L
 *   ap  the target overlaps the search range widened by 10% of its distance from now.
 * A Period is start to end, open where a bound is missing; a Timing spans its events and bounds.
 */
import { type InstantRange, instantRange } from '../instant-range.ts';
import { isObject, type SelectedValue } from '../select-values.ts';
import type { ParameterMatcher } from './matcher.ts';
import { splitPrefix } from './prefix.ts';

export const dateMatcher: ParameterMatcher = {
  type: 'date',
  modifiers: [],
  hasValue: (values) => values.some((value) => rangeOf(value) !== undefined),
  matches(values, alternatives, _modifier, context) {
    const targets = values.flatMap((value) => rangeOf(value) ?? []);
    return alternatives.some((alternative) => {
      const { prefix, rest } = splitPrefix(alternative);
      const search = instantRange(rest);
      if (search === undefined) throw new Error(`not a date search value: ${alternative}`);
      return targets.some((target) => compare(prefix, search, target, context.now));
    });
  },
};

function compare(prefix: string, search: InstantRange, target: InstantRange, now: number): boolean {
  const { low: L, high: H } = search;
  const { low: a, high: b } = target;
  const contained = L <= a && b <= H;
  switch (prefix) {
    case 'eq':
      return contained;
    case 'ne':
      return !contained;
    case 'gt':
      return b > H;
    case 'lt':
      return a < L;
    case 'ge':
      return b > H || contained;
    case 'le':
      return a < L || contained;
    case 'sa':
      return a >= H;
    case 'eb':
      return b <= L;
    case 'ap': {
      const margin = Math.abs(now - L) * 0.1;
      return a < H + margin && b > L - margin;
    }
    default:
      throw new Error(`unknown prefix ${prefix}`);
  }
}

/** The range a date-typed value covers, if it covers one. */
export function rangeOf(value: SelectedValue): InstantRange | undefined {
  const { type, data } = value;
  if (typeof data === 'string') {
    return type === null || type === 'date' || type === 'dateTime' || type === 'instant'
      ? instantRange(data)
      : undefined;
  }
  if (!isObject(data)) return undefined;
  if (type === 'Period') return periodRange(data);
  if (type === 'Timing') return timingRange(data);
  return undefined;
}

function periodRange(period: Record<string, unknown>): InstantRange | undefined {
  const { start, end } = period;
  if (start === undefined && end === undefined) return undefined;
  const from = typeof start === 'string' ? instantRange(start) : undefined;
  const to = typeof end === 'string' ? instantRange(end) : undefined;
  if ((start !== undefined && from === undefined) || (end !== undefined && to === undefined))
    return undefined;
  return { low: from?.low ?? -Infinity, high: to?.high ?? Infinity };
}

/** search.html#date: only the outer limits of a Timing matter. */
function timingRange(timing: Record<string, unknown>): InstantRange | undefined {
  const ranges: InstantRange[] = [];
  for (const event of Array.isArray(timing.event) ? timing.event : []) {
    const range = typeof event === 'string' ? instantRange(event) : undefined;
    if (range !== undefined) ranges.push(range);
  }
  const bounds = isObject(timing.repeat) ? timing.repeat.boundsPeriod : undefined;
  const boundsRange = isObject(bounds) ? periodRange(bounds) : undefined;
  if (boundsRange !== undefined) ranges.push(boundsRange);
  if (ranges.length === 0) return undefined;
  return {
    low: Math.min(...ranges.map((range) => range.low)),
    high: Math.max(...ranges.map((range) => range.high)),
  };
}
