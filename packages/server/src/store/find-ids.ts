/**
 * Search criteria (`Criterion[]`, parsed by packages/fhir) as one SQL statement over the index
 * tables. Each criterion is a semi-join on its own table (AND across criteria, OR across the
 * values of one criterion), so the planner can start from the most selective one.
 */
import { type Criterion, fhirError, type TokenMatch } from '@concordia/fhir';
import { joinSql, type Sql, sql } from './sql.ts';

/**
 * Case- and accent-folding of string search values; must be the one the indexer stored in
 * `search_string.normalized` (and idempotent: criteria may arrive already folded).
 */
export type StringNormalizer = (value: string) => string;

export function findIdsStatement(
  resourceType: string,
  criteria: readonly Criterion[],
  limit: number,
  normalize: StringNormalizer,
): Sql {
  const conditions = criteria.map((criterion) => criterionCondition(resourceType, criterion, normalize));
  const filter = conditions.length === 0 ? sql`` : sql` and ${joinSql(conditions, ' and ')}`;
  // Ordered by id so that the same query gives the same page.
  return sql`select r.id from resource r
    where r.resource_type = ${resourceType} and not r.deleted${filter}
    order by r.id limit ${limit}`;
}

function criterionCondition(resourceType: string, criterion: Criterion, normalize: StringNormalizer): Sql {
  switch (criterion.kind) {
    case 'id':
      return sql`r.id = any(${criterion.values}::text[])`;
    case 'token': {
      const matches = criterion.values.map(tokenCondition);
      return sql`r.id in (select t.id from search_token t
        where t.resource_type = ${resourceType} and t.param = ${criterion.param}
        and ${anyOf(matches)})`;
    }
    case 'string': {
      const matches = criterion.values.map((value) => stringCondition(criterion.mode, value, normalize));
      return sql`r.id in (select s.id from search_string s
        where s.resource_type = ${resourceType} and s.param = ${criterion.param}
        and ${anyOf(matches)})`;
    }
  }
}

/** OR of the values; a criterion without values matches nothing rather than being malformed SQL. */
function anyOf(conditions: readonly Sql[]): Sql {
  return conditions.length === 0 ? sql`false` : sql`(${joinSql(conditions, ' or ')})`;
}

/** search.html#token: `system|code`, `|code` (no system), `system|` (any code), `code` (any system). */
function tokenCondition(match: TokenMatch): Sql {
  const { system, code } = match;
  if (code !== undefined) {
    if (system === undefined) return sql`t.code = ${code}`;
    if (system === null) return sql`(t.system is null and t.code = ${code})`;
    return sql`(t.system = ${system} and t.code = ${code})`;
  }
  if (system === null) return sql`t.system is null`;
  if (system !== undefined) return sql`t.system = ${system}`;
  throw fhirError('invalid', 'invalid', 'A token search value needs a system, a code, or both');
}

function stringCondition(
  mode: 'starts-with' | 'exact' | 'contains',
  value: string,
  normalize: StringNormalizer,
): Sql {
  const folded = normalize(value);
  switch (mode) {
    case 'starts-with':
      return sql`s.normalized like ${`${escapeLike(folded)}%`}`;
    case 'contains':
      return sql`s.normalized like ${`%${escapeLike(folded)}%`}`;
    case 'exact':
      // `:exact` compares the value as written; the folded equality lets the index find candidates.
      return sql`(s.normalized = ${folded} and s.value = ${value})`;
  }
}

/** LIKE's default escape character is backslash; the wildcards in a value must match literally. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}
