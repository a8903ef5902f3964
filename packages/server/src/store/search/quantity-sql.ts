/**
 * Quantity search (http://hl7.org/fhir/R4/search.html#quantity) on `search_quantity` rows `q`.
 *
 * Units: `n|http://unitsofmeasure.org|mg` compares in canonical UCUM units, so it matches a stored
 * `5400 ug` (a UCUM row the indexer could not convert still matches by the same code as written);
 * `n|system|code` for other systems compares system and code as written; `n||mg` matches `mg` as
 * the code or the human unit; `n` matches any unit.
 *
 * Numbers, as for search.html#number (range-sql.ts): `eq`/`ne` use the search value's implied
 * precision (5.4 is [5.35, 5.45)), the other prefixes the value itself, `ap` ±10%. A stored value
 * is the point it states, but one with a comparator is the interval it leaves open: `<5` is
 * (−∞, 5] (the index keeps no difference between `<` and `<=`, so both include 5), and each prefix
 * asks of that interval what search.html#prefix asks of a range: `gt` "intersects the range above",
 * `sa` "lies wholly above", `eq` "is contained in" (never, for an open interval).
 */
import {
  canonicalQuantitySearch,
  type Prefix,
  type QuantitySearchNumbers,
  type QuantityValue,
  quantitySearchNumbers,
} from '@concordia/fhir';
import { type Sql, sql } from '../sql.ts';

/** The value and bounds of a row, as written or in canonical units. */
interface QuantityColumns {
  value: Sql;
  low: Sql;
  high: Sql;
}

const AS_WRITTEN: QuantityColumns = { value: sql`q.value`, low: sql`q.low`, high: sql`q.high` };
const CANONICAL: QuantityColumns = {
  value: sql`q.canonical_value`,
  low: sql`q.canonical_low`,
  high: sql`q.canonical_high`,
};

export function quantityCondition(value: QuantityValue): Sql {
  const written = quantitySearchNumbers(value);
  if (written === undefined) {
    throw new Error(`Quantity '${value.value}' reached the SQL compiler without being parsed`);
  }
  const { system, code } = value;
  const canonical = canonicalQuantitySearch(value);
  if (canonical !== undefined && system !== undefined && code !== undefined) {
    // A value in the search's own unit compares as written: converting both sides to canonical
    // units through floats (Cel → K) can round away the search value's implied precision.
    return sql`((q.system = ${system} and q.code = ${code} and ${prefixCondition(value.prefix, written, AS_WRITTEN)})
      or (q.canonical_code = ${canonical.code} and (q.system, q.code) is distinct from (${system}, ${code})
        and ${prefixCondition(value.prefix, canonical, CANONICAL)}))`;
  }
  const numbers = prefixCondition(value.prefix, written, AS_WRITTEN);
  if (system !== undefined && code !== undefined) {
    return sql`(q.system = ${system} and q.code = ${code} and ${numbers})`;
  }
  if (system !== undefined) return sql`(q.system = ${system} and ${numbers})`;
  if (code !== undefined) return sql`((q.code = ${code} or q.unit = ${code}) and ${numbers})`;
  return numbers;
}

/**
 * A row's interval runs from its value, or −∞ when its low bound is open, to its value, or +∞
 * when its high bound is open; each prefix compares the search numbers with that interval.
 */
function prefixCondition(prefix: Prefix, numbers: QuantitySearchNumbers, columns: QuantityColumns): Sql {
  const { value } = columns;
  const exact = sql`${numbers.value}::numeric`;
  const openBelow = sql`${columns.low} = '-Infinity'::numeric`;
  const openAbove = sql`${columns.high} = 'Infinity'::numeric`;
  switch (prefix) {
    case 'eq':
      return sql`(${value} >= ${numbers.low}::numeric and ${value} < ${numbers.high}::numeric
        and not ${openBelow} and not ${openAbove})`;
    case 'ne':
      return sql`(${value} < ${numbers.low}::numeric or ${value} >= ${numbers.high}::numeric
        or ${openBelow} or ${openAbove})`;
    case 'gt':
      return sql`(${value} > ${exact} or ${openAbove})`;
    case 'ge':
      return sql`(${value} >= ${exact} or ${openAbove})`;
    case 'lt':
      return sql`(${value} < ${exact} or ${openBelow})`;
    case 'le':
      return sql`(${value} <= ${exact} or ${openBelow})`;
    case 'sa':
      return sql`(${value} > ${exact} and not ${openBelow})`;
    case 'eb':
      return sql`(${value} < ${exact} and not ${openAbove})`;
    case 'ap':
      return sql`((${value} <= ${numbers.approximateHigh}::numeric or ${openBelow})
        and (${value} >= ${numbers.approximateLow}::numeric or ${openAbove}))`;
  }
}
