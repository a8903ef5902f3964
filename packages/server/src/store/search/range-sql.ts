/**
 * Conditions for the ordered types against the 0002 index tables (search.html#date, #number,
 * #uri). A date row holds the inclusive range [low, high] its value covers, a search value the
 * half-open range [low, high) of its precision; each prefix of search.html#prefix compares the two.
 */
import type { DateValue, NumberValue } from '@concordia/fhir';
import { type Sql, sql } from '../sql.ts';

/** `d` is a `search_date` row. */
export function dateCondition(value: DateValue, now: number): Sql {
  const low = sql`${value.low}::timestamptz`;
  const high = sql`${value.high}::timestamptz`;
  switch (value.prefix) {
    case 'eq':
      return sql`(d.low >= ${low} and d.high < ${high})`;
    case 'ne':
      return sql`(d.low < ${low} or d.high >= ${high})`;
    case 'gt':
      return sql`d.high >= ${high}`;
    case 'lt':
      return sql`d.low < ${low}`;
    case 'ge':
      return sql`d.high >= ${low}`;
    case 'le':
      return sql`d.low < ${high}`;
    case 'sa':
      return sql`d.low >= ${high}`;
    case 'eb':
      return sql`d.high < ${low}`;
    case 'ap': {
      const { from, to } = approximately(value, now);
      return sql`(d.low < ${to}::timestamptz and d.high >= ${from}::timestamptz)`;
    }
  }
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
  const exact = sql`${value.value}::numeric`;
  switch (value.prefix) {
    case 'eq':
      return sql`(n.value >= ${value.low}::numeric and n.value < ${value.high}::numeric)`;
    case 'ne':
      return sql`(n.value < ${value.low}::numeric or n.value >= ${value.high}::numeric)`;
    case 'gt':
    case 'sa':
      return sql`n.value > ${exact}`;
    case 'lt':
    case 'eb':
      return sql`n.value < ${exact}`;
    case 'ge':
      return sql`n.value >= ${exact}`;
    case 'le':
      return sql`n.value <= ${exact}`;
    case 'ap':
      // Within 10% of the value (search.html#prefix).
      return sql`(n.value >= ${exact} - abs(${exact}) * 0.1 and n.value <= ${exact} + abs(${exact}) * 0.1)`;
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
