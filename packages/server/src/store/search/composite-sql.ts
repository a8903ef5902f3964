/**
 * Composite search (http://hl7.org/fhir/R4/search.html#composite) on `search_composite` rows:
 * every component of a value must match the same row, and a row holds the values of one item
 * (one Observation.component), so `8480-6$lt60` never pairs one component's code with another's
 * value. Each component compares as its own parameter type does; composites take no modifiers.
 */
import type { CompositeComponentValue, CompositeValue, SearchFilter, TokenValue } from '@concordia/fhir';
import { joinSql, type Sql, sql } from '../sql.ts';
import { quantityCondition } from './quantity-sql.ts';
import { dateConditionOn, numberConditionOn } from './range-sql.ts';
import type { SearchScope } from './search-scope.ts';

type CompositeFilter = Extract<SearchFilter, { kind: 'composite' }>;

/*
 * The row is aliased `q` because quantityCondition (quantity-sql.ts) is written against a
 * `search_quantity` row `q`, and the quantity columns of `search_composite` carry the same names
 * (migration 0003); every other condition here names its columns itself.
 */
export function compositeCondition(filter: CompositeFilter, scope: SearchScope): Sql {
  const { row } = scope;
  const values = filter.values.map((value) => valueCondition(value, scope));
  return sql`exists (select 1 from search_composite q
    where q.resource_type = ${row}.resource_type and q.id = ${row}.id and q.param = ${scope.param(filter.code)}
    and ${values.length === 0 ? sql`false` : sql`(${joinSql(values, ' or ')})`})`;
}

/** The first component is the token, the second the value, the third a number (composite-components.ts). */
function valueCondition(value: CompositeValue, scope: SearchScope): Sql {
  const conditions = value.components.map((component, position) => {
    if (position === 0) {
      if (component.type !== 'token') throw new Error('A composite value must start with a token');
      return tokenCondition(sql`q.token_system`, sql`q.token_code`, component.value);
    }
    if (position === 2) {
      if (component.type !== 'number') throw new Error('The third component of a composite is a number');
      return numberConditionOn(sql`q.third_value`, component.value);
    }
    return secondCondition(component, scope);
  });
  return sql`(${joinSql(conditions, ' and ')})`;
}

function secondCondition(component: CompositeComponentValue, scope: SearchScope): Sql {
  switch (component.type) {
    case 'token':
      return tokenCondition(sql`q.system`, sql`q.code`, component.value);
    case 'number':
      return numberConditionOn(sql`q.value`, component.value);
    case 'quantity':
      return quantityCondition(component.value);
    case 'date':
      return dateConditionOn({ low: sql`q.date_low`, high: sql`q.date_high` }, component.value, scope.now);
    case 'string':
      // search.html#string: case- and accent-insensitive starts-with, as the parameter on its own.
      return sql`q.text like ${`${escapeLike(scope.normalize(component.value))}%`}`;
    case 'reference': {
      const { type, id } = component.value;
      return type === undefined
        ? sql`q.target_id = ${id}`
        : sql`(q.target_id = ${id} and q.target_type = ${type})`;
    }
    case 'uri':
      return sql`q.text = ${component.value}`;
  }
}

/** search.html#token: `system|code`, `|code` (no system), `system|` (any code), `code` (any system). */
function tokenCondition(system: Sql, code: Sql, value: TokenValue): Sql {
  if (value.code !== undefined) {
    if (value.system === undefined) return sql`${code} = ${value.code}`;
    if (value.system === null) return sql`(${system} is null and ${code} = ${value.code})`;
    return sql`(${system} = ${value.system} and ${code} = ${value.code})`;
  }
  if (value.system === null || value.system === undefined) return sql`${system} is null`;
  return sql`${system} = ${value.system}`;
}

/** LIKE's default escape character is backslash; the wildcards in a value must match literally. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}
