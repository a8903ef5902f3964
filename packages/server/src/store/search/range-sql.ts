/**
 * Conditions for the ordered types against the 0002 index tables (search.html#date, #number,
 * #uri). A date row holds the inclusive range [low, high] its value covers, a search value the
 * half-open range [low, high) of its precision; each prefix of search.html#prefix compares the two.
 */
import type { DateValue, NumberValue } from '@concordia/fhir';
import { type Sql, sql } from '../sql.ts';

/** `d` is a `search_date` row. */
export function dateCondition(value: DateValue, now: number): Sql {
  return dateConditionOn({ low: sql`d.low`, high: sql`d.high` }, value, now);
}

/** `range` holds a stored date's inclusive bounds (`d.low`/`d.high`, or a composite's columns). */
export function dateConditionOn(range: { low: Sql; high: Sql }, value: DateValue, now: number): Sql {
  const low = sql`${instantBound(value.low)}::timestamptz`;
  const high = sql`${instantBound(value.high)}::timestamptz`;
  switch (value.prefix) {
    case 'eq':
      return sql`(${range.low} >= ${low} and ${range.high} < ${high})`;
    case 'ne':
      return sql`(${range.low} < ${low} or ${range.high} >= ${high})`;
    case 'gt':
      return sql`${range.high} >= ${high}`;
    case 'lt':
      return sql`${range.low} < ${low}`;
    // ge is gt or eq, le is lt or eq: a stored range that only overlaps the search range's
    // lower (upper) end is neither.
    case 'ge':
      return sql`(${range.high} >= ${high} or ${range.low} >= ${low})`;
    case 'le':
      return sql`(${range.low} < ${low} or ${range.high} < ${high})`;
    case 'sa':
      return sql`${range.low} >= ${high}`;
    case 'eb':
      return sql`${range.high} < ${low}`;
    case 'ap': {
      const { from, to } = approximately(value, now);
      return sql`(${range.low} < ${instantBound(to)}::timestamptz and ${range.high} >= ${instantBound(from)}::timestamptz)`;
    }
  }
}

/**
 * An instant as PostgreSQL reads it. JavaScript writes years outside 0–9999 in the expanded form
 * (`+010000-01-01T…`, the exclusive end of `9999-12-31`; `-000180-…`, an `ap` widened far into the
 * past), which PostgreSQL refuses; no FHIR date lies outside 0001–9999, so such a bound is as good
 * as an open end.
 */
export function instantBound(iso: string): string {
  if (iso.startsWith('+')) return 'infinity';
  if (iso.startsWith('-')) return '-infinity';
  return iso;
}

/** The search range widened by 10% of its distance from now, as search.html#prefix suggests for `ap`. */
export function approximately(value: DateValue, now: number): { from: string; to: string } {
  const lowMillis = Date.parse(value.low);
  const highMillis = Date.parse(value.high);
  const margin = Math.abs(now - lowMillis) * 0.1;
  return {
    from: new Date(lowMillis - margin).toISOString(),
    to: new Date(highMillis + margin).toISOString(),
  };
}

/**
 * `n` is a `search_number` row. `eq` (and `ne`) use the search value's implied precision
 * (100 matches [99.5, 100.5)); the other prefixes compare with the value itself.
 */
export function numberCondition(value: NumberValue): Sql {
  return numberConditionOn(sql`n.value`, value);
}

/** `stored` is a stored number's value (`n.value`, or a composite's column). */
export function numberConditionOn(stored: Sql, value: NumberValue): Sql {
  const exact = sql`${value.value}::numeric`;
  switch (value.prefix) {
    case 'eq':
      return sql`(${stored} >= ${value.low}::numeric and ${stored} < ${value.high}::numeric)`;
    case 'ne':
      return sql`(${stored} < ${value.low}::numeric or ${stored} >= ${value.high}::numeric)`;
    case 'gt':
    case 'sa':
      return sql`${stored} > ${exact}`;
    case 'lt':
    case 'eb':
      return sql`${stored} < ${exact}`;
    case 'ge':
      return sql`${stored} >= ${exact}`;
    case 'le':
      return sql`${stored} <= ${exact}`;
    case 'ap':
      // Within 10% of the value (search.html#prefix).
      return sql`(${stored} >= ${exact} - abs(${exact}) * 0.1 and ${stored} <= ${exact} + abs(${exact}) * 0.1)`;
  }
}

/** `u` is a `search_uri` row: equality, `:below` (value starts with), `:above` (value is a prefix of). */
export function uriCondition(match: 'equals' | 'above' | 'below', value: string): Sql {
  switch (match) {
    case 'equals':
      return sql`u.value = ${value}`;
    case 'below':
      return sql`u.value like ${`${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`;
    case 'above':
      return sql`(u.value = left(${value}, length(u.value)))`;
  }
}
