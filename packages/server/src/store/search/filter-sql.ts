/**
 * The search IR's filters as SQL conditions on a `resource` row: each is a semi-join
 * (`exists (select 1 from search_… where … = row)`) on its index table, so the planner can drive
 * from the most selective one. Values are bound parameters only (sql.ts).
 * Filters reach here only after `unsupportedFilterReason` accepted them.
 */
import {
  type DateValue,
  identifierOfTypeCode,
  identifierOfTypeParam,
  type ReferenceValue,
  referenceIdentifierParam,
  type SearchFilter,
  type SearchParamType,
  type TokenValue,
  tokenTextParam,
} from '@concordia/fhir';
import { indexTableFor, tableName } from '../index-tables.ts';
import { joinSql, type Sql, sql } from '../sql.ts';
import { compositeCondition } from './composite-sql.ts';
import { listCondition } from './list-sql.ts';
import { nearCondition } from './near-sql.ts';
import { quantityCondition } from './quantity-sql.ts';
import { approximately, dateCondition, instantBound, numberCondition, uriCondition } from './range-sql.ts';
import { nestedScope, type SearchScope, visibleRow } from './search-scope.ts';
import { textCondition } from './text-sql.ts';

export function filterCondition(filter: SearchFilter, scope: SearchScope): Sql {
  const { row } = scope;
  switch (filter.kind) {
    case 'token': {
      if (filter.modifier === 'text') {
        // search.html#modifiers: a string search on the texts indexed under `code:text`.
        const values = filter.values.map((value) => stringCondition('starts-with', value, scope));
        return sql`exists (select 1 from search_string s
          where s.resource_type = ${row}.resource_type and s.id = ${row}.id
          and s.param = ${scope.param(tokenTextParam(filter.code))} and ${anyOf(values)})`;
      }
      if (filter.modifier === 'of-type') {
        const values = filter.values.map(
          ({ system, code, value }) =>
            sql`(t.system = ${system} and t.code = ${identifierOfTypeCode(code, value)})`,
        );
        return tokenRows(row, scope.param(identifierOfTypeParam(filter.code)), values);
      }
      if (filter.code === '_id') {
        const ids = filter.values.flatMap((value) => (value.code === undefined ? [] : [value.code]));
        // A contained resource's id is its local one (`#med1` is `med1`).
        const match = sql`${scope.contained?.localId ?? sql`${row}.id`} = any(${ids}::text[])`;
        return filter.modifier === 'not' ? sql`not (${match})` : match;
      }
      const match = tokenRows(row, scope.param(filter.code), filter.values.map(tokenCondition));
      // search.html#modifiers: `:not` also matches resources with no value at all.
      return filter.modifier === 'not' ? sql`not ${match}` : match;
    }
    case 'code-set': {
      // The resolved codes as two bound arrays: one statement of fixed shape however many codes.
      const match = sql`exists (select 1 from search_token t
        where t.resource_type = ${row}.resource_type and t.id = ${row}.id and t.param = ${scope.param(filter.code)}
        and (t.system, t.code) in (select * from unnest(${filter.codes.map((c) => c.system)}::text[],
          ${filter.codes.map((c) => c.code)}::text[])))`;
      return filter.negate ? sql`not ${match}` : match;
    }
    case 'string': {
      const values = filter.values.map((value) => stringCondition(filter.match, value, scope));
      return sql`exists (select 1 from search_string s
        where s.resource_type = ${row}.resource_type and s.id = ${row}.id and s.param = ${scope.param(filter.code)}
        and ${anyOf(values)})`;
    }
    case 'reference':
      return sql`exists (select 1 from search_reference x
        where x.resource_type = ${row}.resource_type and x.id = ${row}.id and x.param = ${scope.param(filter.code)}
        and ${anyOf(filter.values.map(referenceCondition))})`;
    case 'reference-identifier':
      // search.html#reference: `Reference.identifier`, indexed as a token under `code:identifier`.
      return tokenRows(
        row,
        scope.param(referenceIdentifierParam(filter.code)),
        filter.values.map(tokenCondition),
      );
    case 'date':
      if (filter.code === '_lastUpdated') {
        return anyOf(filter.values.map((value) => lastUpdatedCondition(row, value, scope.now)));
      }
      return sql`exists (select 1 from search_date d
        where d.resource_type = ${row}.resource_type and d.id = ${row}.id and d.param = ${scope.param(filter.code)}
        and ${anyOf(filter.values.map((value) => dateCondition(value, scope.now)))})`;
    case 'number':
      return sql`exists (select 1 from search_number n
        where n.resource_type = ${row}.resource_type and n.id = ${row}.id and n.param = ${scope.param(filter.code)}
        and ${anyOf(filter.values.map(numberCondition))})`;
    case 'quantity':
      return sql`exists (select 1 from search_quantity q
        where q.resource_type = ${row}.resource_type and q.id = ${row}.id and q.param = ${scope.param(filter.code)}
        and ${anyOf(filter.values.map(quantityCondition))})`;
    case 'uri':
      return sql`exists (select 1 from search_uri u
        where u.resource_type = ${row}.resource_type and u.id = ${row}.id and u.param = ${scope.param(filter.code)}
        and ${anyOf(filter.values.map((value) => uriCondition(filter.match, value)))})`;
    case 'text':
      return textCondition(filter.field, filter.values, scope);
    case 'list':
      return listCondition(filter.values, scope);
    case 'composite':
      return compositeCondition(filter, scope);
    case 'near':
      return nearCondition(filter, scope);
    case 'missing':
      return missingCondition(row, scope.param(filter.code), filter.type, filter.missing);
    case 'chain':
      return chainCondition(filter, scope);
    case 'has': {
      const source = scope.fresh();
      return sql`exists (select 1 from search_reference x
        join resource ${source} on ${source}.resource_type = x.resource_type and ${source}.id = x.id
          and not ${source}.deleted
        where x.resource_type = ${filter.sourceType} and x.param = ${filter.referenceParam}
        and x.target_type = ${row}.resource_type and x.target_id = ${row}.id
        and ${visibleRow(scope, source, [filter.sourceType])}
        and ${filterCondition(filter.inner, nestedScope(scope, source))})`;
    }
    default:
      throw new Error(`Filter kind ${filter.kind} reached the SQL compiler unchecked`);
  }
}

/**
 * The index rows of the resources of `type` that `filter` matches, as the rows' alias and their
 * `from … where …`, or `undefined` when the filter needs the resource row or is not one table's
 * rows (negations, `:missing`, `_id`, text, chains…). Index rows exist only for current resources
 * (a delete clears them), so no `resource` row needs reading to know that an id is a current
 * resource's. A resource may have several matching rows.
 */
function indexRows(
  filter: SearchFilter,
  type: string,
  scope: SearchScope,
): { alias: Sql; from: Sql } | undefined {
  switch (filter.kind) {
    case 'token':
      if (filter.modifier !== undefined || filter.code === '_id') return undefined;
      return {
        alias: sql`t`,
        from: sql`from search_token t
        where t.resource_type = ${type} and t.param = ${filter.code} and ${anyOf(filter.values.map(tokenCondition))}`,
      };
    case 'string': {
      const values = filter.values.map((value) => stringCondition(filter.match, value, scope));
      return {
        alias: sql`s`,
        from: sql`from search_string s
        where s.resource_type = ${type} and s.param = ${filter.code} and ${anyOf(values)}`,
      };
    }
    case 'reference':
      return {
        alias: sql`x`,
        from: sql`from search_reference x
        where x.resource_type = ${type} and x.param = ${filter.code} and ${anyOf(filter.values.map(referenceCondition))}`,
      };
    case 'date':
      if (filter.code === '_lastUpdated') return undefined;
      return {
        alias: sql`d`,
        from: sql`from search_date d
        where d.resource_type = ${type} and d.param = ${filter.code}
        and ${anyOf(filter.values.map((value) => dateCondition(value, scope.now)))}`,
      };
    default:
      return undefined;
  }
}

/**
 * The ids of the resources of `type` that `filter` matches, read from index tables alone, or
 * `undefined` when the filter needs the resource row (`indexRows`): a chain (`subject:Patient.name=x`)
 * goes from the name rows to the reference rows without reading a Patient. A set may repeat ids.
 */
function filterKeySet(filter: SearchFilter, type: string, scope: SearchScope): Sql | undefined {
  if (filter.kind === 'chain') {
    const branches: Sql[] = [];
    for (const targetType of filter.targetTypes) {
      const inner = filterKeySet(filter.inner, targetType, scope);
      if (inner === undefined) return undefined;
      branches.push(sql`select x.id from search_reference x
          where x.resource_type = ${type} and x.param = ${filter.code} and x.target_type = ${targetType}
          and x.target_id = any(array(${inner}))`);
    }
    return branches.length === 0 ? undefined : joinSql(branches, ' union all ');
  }
  const rows = indexRows(filter, type, scope);
  return rows === undefined ? undefined : sql`select ${rows.alias}.id ${rows.from}`;
}

/**
 * The index rows (`resource_type`, `id`, a resource possibly more than once) of the resources of
 * the scope's one type that `filter` matches, or `undefined` when it has none of its own to offer
 * (`indexRows`; a chain offers its reference rows). Being index rows, they stand for current
 * resources, so a page's ids can be found from them before any resource row is read
 * (search-statement.ts).
 */
export function filterRows(filter: SearchFilter, scope: SearchScope): Sql | undefined {
  const [type, ...others] = scope.types ?? [];
  if (type === undefined || others.length > 0) return undefined;
  if (filter.kind === 'chain') return chainRows(filter, scope);
  const rows = indexRows(filter, type, scope);
  return rows === undefined
    ? undefined
    : sql`select ${rows.alias}.resource_type, ${rows.alias}.id ${rows.from}`;
}

/**
 * search.html#chaining as an uncorrelated `in`: the set of resources whose reference points at a
 * target passing the inner filter, one `union all` branch per target type with the type as a
 * constant. Being uncorrelated, the planner may compute it from the inside out (52 Patients named
 * x → their Encounters → those Encounters' Observations) instead of testing every outer row, and a
 * constant type lets every inner filter use its lookup index; nested chains nest the same way.
 */
function chainCondition(filter: Extract<SearchFilter, { kind: 'chain' }>, scope: SearchScope): Sql {
  const rows = chainRows(filter, scope);
  return rows === undefined ? sql`false` : sql`(${scope.row}.resource_type, ${scope.row}.id) in (${rows})`;
}

/**
 * The reference rows (`resource_type`, `id`) of a chain's matches; `undefined` when it has no target
 * type. Without an access decision to apply to the targets, a target is known by its index rows
 * alone (`filterKeySet`), so no target resource is read, and the targets are an array computed once
 * (`= any(array(…))`, an InitPlan) instead of a subquery the planner pulls up into one join
 * problem: a two-level chain planned in 1–2 ms instead of 10–25 ms at 100,000 resources, always
 * run from the inside out, and probing `search_reference_lookup` with the whole array.
 */
function chainRows(filter: Extract<SearchFilter, { kind: 'chain' }>, scope: SearchScope): Sql | undefined {
  const sourceTypes = scope.types;
  const [onlySource] = sourceTypes ?? [];
  const source =
    sourceTypes === undefined
      ? sql``
      : sourceTypes.length === 1 && onlySource !== undefined
        ? sql`x.resource_type = ${onlySource} and`
        : sql`x.resource_type = any(${[...sourceTypes]}::text[]) and`;
  const branches = filter.targetTypes.map((targetType) => {
    const keys = scope.access === undefined ? filterKeySet(filter.inner, targetType, scope) : undefined;
    const targets =
      keys ??
      (() => {
        const target = scope.fresh();
        const inner = filterCondition(filter.inner, nestedScope(scope, target, [targetType]));
        return sql`select ${target}.id from resource ${target}
          where ${target}.resource_type = ${targetType} and not ${target}.deleted
            and ${visibleRow(scope, target, [targetType])} and ${inner}`;
      })();
    const matching = keys === undefined ? sql`in (${targets})` : sql`= any(array(${targets}))`;
    return sql`select x.resource_type, x.id from search_reference x
      where ${source} x.param = ${scope.param(filter.code)} and x.target_type = ${targetType}
      and x.target_id ${matching}`;
  });
  return branches.length === 0 ? undefined : joinSql(branches, ' union all ');
}

/** OR of the values; no values matches nothing rather than being malformed SQL. */
function anyOf(conditions: readonly Sql[]): Sql {
  return conditions.length === 0 ? sql`false` : sql`(${joinSql(conditions, ' or ')})`;
}

/** Some `search_token` row of `param` on `row` meets one of `values` (`t.system`, `t.code`). */
function tokenRows(row: Sql, param: Sql, values: readonly Sql[]): Sql {
  return sql`exists (select 1 from search_token t
    where t.resource_type = ${row}.resource_type and t.id = ${row}.id and t.param = ${param}
    and ${anyOf(values)})`;
}

/** search.html#token: `system|code`, `|code` (no system), `system|` (any code), `code` (any system). */
function tokenCondition(value: TokenValue): Sql {
  const { system, code } = value;
  if (code !== undefined) {
    if (system === undefined) return sql`t.code = ${code}`;
    if (system === null) return sql`(t.system is null and t.code = ${code})`;
    return sql`(t.system = ${system} and t.code = ${code})`;
  }
  if (system === null || system === undefined) return sql`t.system is null`;
  return sql`t.system = ${system}`;
}

function stringCondition(
  match: 'starts-with' | 'exact' | 'contains',
  value: string,
  scope: SearchScope,
): Sql {
  const folded = scope.normalize(value);
  switch (match) {
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

/**
 * search.html#reference: `Type/id` and absolute URLs ending in `Type/id` match that target; a bare
 * id matches any target type (or the one of the `:Type` modifier). The index keeps no base URL,
 * so `http://other.org/fhir/Patient/1` matches a local `Patient/1` too (documented in docs/search.md).
 */
function referenceCondition(value: ReferenceValue): Sql {
  if (value.type === undefined) return sql`x.target_id = ${value.id}`;
  return sql`(x.target_id = ${value.id} and x.target_type = ${value.type})`;
}

/**
 * `_lastUpdated` on the resource row itself: the stored instant is a point, so the prefixes of
 * search.html#prefix reduce to comparisons with the value's range [low, high).
 */
function lastUpdatedCondition(row: Sql, value: DateValue, now: number): Sql {
  const at = sql`${row}.last_updated`;
  const low = sql`${instantBound(value.low)}::timestamptz`;
  const high = sql`${instantBound(value.high)}::timestamptz`;
  switch (value.prefix) {
    case 'eq':
      return sql`(${at} >= ${low} and ${at} < ${high})`;
    case 'ne':
      return sql`(${at} < ${low} or ${at} >= ${high})`;
    case 'gt':
    case 'sa':
      return sql`${at} >= ${high}`;
    case 'lt':
    case 'eb':
      return sql`${at} < ${low}`;
    case 'ge':
      return sql`${at} >= ${low}`;
    case 'le':
      return sql`${at} < ${high}`;
    case 'ap': {
      const { from, to } = approximately(value, now);
      return sql`(${at} >= ${instantBound(from)}::timestamptz and ${at} < ${instantBound(to)}::timestamptz)`;
    }
  }
}

function missingCondition(row: Sql, param: Sql, type: SearchParamType, missing: boolean): Sql {
  const table = indexTableFor(type);
  if (table === undefined) throw new Error(`No index table for ${type} parameters`);
  const present = sql`exists (select 1 from ${tableName(table)} v
    where v.resource_type = ${row}.resource_type and v.id = ${row}.id and v.param = ${param})`;
  return missing ? sql`not ${present}` : present;
}
