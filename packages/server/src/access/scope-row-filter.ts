/**
 * SMART v2 query-restricted scopes as rows (scopes-and-launch-context.html, "Finer-grained
 * resource constraints using search parameters"): the resources of a type that
 * `patient/Observation.rs?category=laboratory` covers are exactly those its search matches, so the
 * token's restrictions become one more condition of the access decision (row-filter.ts) that the
 * store adds to every read — read, vread, search, `_include`/`_revinclude`, chains and `_has`,
 * history, compartment search, `$everything`, export, counts — and, through the write checks
 * (scope-writes.ts), to every write.
 *
 * Scopes add up: a resource is covered when any scope granting the permission covers it, and an
 * unrestricted scope (`patient/Observation.rs`, `patient/*.rs`) covers every resource of its types.
 * A read and a search return resources whole, so one row filter serves both: a row must be covered
 * under each of `r` and `s` that the token holds on its type — when both letters come from the
 * same scopes, as they do in practice, that is just those scopes' criteria; when they differ
 * (`Observation.r?category=laboratory Observation.s`) the narrower wins rather than letting a search
 * return what a read would refuse. A type the token has no scope for is not restricted here: the
 * scope decision (scope-decision.ts) refuses requests for it.
 */
import { normalizeString, type SearchFilter } from '@concordia/fhir';
import type { FilterReader, ReadIntent, RowFilter, RowFilterSource } from '../store/row-filter.ts';
import { filterCondition } from '../store/search/filter-sql.ts';
import type { SearchScope } from '../store/search/search-scope.ts';
import { identifier, joinSql, type Sql, sql } from '../store/sql.ts';
import type { Principal, TokenGrant } from './request-context.ts';
import type { Permission, ResourceScope } from './smart-scopes.ts';

/**
 * What the scopes let through of one type: every entry must hold (one per permission held), each
 * entry being the scopes of which at least one must match. Empty: every resource of the type.
 */
export type TypeRestriction = readonly (readonly ResourceScope[])[];

export interface ScopeRestriction {
  /** Whether rows of `resourceType` must match criteria. */
  restricts(resourceType: string): boolean;
  /** The condition on `row`, `undefined` when none of `types` (every type, when absent) is restricted. */
  condition(row: Sql, types?: readonly string[]): Sql | undefined;
}

const READING: readonly Permission[] = ['r', 's'];

/**
 * The restriction of `permissions` on `resourceType` (`undefined`: a type no scope names, covered
 * by `*` scopes only): for each permission held, the scopes that grant it — none of them
 * unrestricted, else the permission restricts nothing.
 */
export function typeRestriction(
  scopes: readonly ResourceScope[],
  permissions: readonly Permission[],
  resourceType: string | undefined,
): TypeRestriction {
  const restriction: ResourceScope[][] = [];
  const seen = new Set<string>();
  for (const permission of permissions) {
    const covering = scopes.filter(
      (scope) =>
        scope.permissions.has(permission) &&
        (scope.resourceType === '*' || scope.resourceType === resourceType),
    );
    if (covering.length === 0 || covering.some((scope) => scope.filters.length === 0)) continue;
    const key = covering.map((scope) => scope.raw).join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    restriction.push(covering);
  }
  return restriction;
}

/** `row` (of type `resourceType` when known) passes `restriction`. */
export function restrictionCondition(row: Sql, restriction: TypeRestriction, resourceType?: string): Sql {
  const types = resourceType === undefined ? undefined : [resourceType];
  const each = restriction.map((covering) => {
    const alternatives = covering.map((scope) => criteriaCondition(row, scope.filters, types));
    return alternatives.length === 1
      ? (alternatives[0] ?? sql`false`)
      : sql`(${joinSql(alternatives, ' or ')})`;
  });
  return each.length === 1 ? (each[0] ?? sql`true`) : sql`(${joinSql(each, ' and ')})`;
}

/** The reading restriction of a token, `undefined` when none of its scopes is query-restricted. */
export function readingRestriction(grant: Pick<TokenGrant, 'scopes'>): ScopeRestriction | undefined {
  const scopes = grant.scopes.resources.filter((scope) =>
    READING.some((permission) => scope.permissions.has(permission)),
  );
  if (!scopes.some((scope) => scope.filters.length > 0)) return undefined;
  const named = [...new Set(scopes.map((scope) => scope.resourceType).filter((type) => type !== '*'))];
  const byType = new Map<string, TypeRestriction>();
  for (const type of named) {
    const restriction = typeRestriction(scopes, READING, type);
    if (restriction.length > 0) byType.set(type, restriction);
  }
  const others = typeRestriction(scopes, READING, undefined);
  // Every restricted scope beside an unrestricted one: nothing is restricted.
  if (byType.size === 0 && others.length === 0) return undefined;
  const restrictionOf = (type: string): TypeRestriction =>
    byType.get(type) ?? (named.includes(type) ? [] : others);
  const branch = (row: Sql, type: string) =>
    sql`(${row}.resource_type = ${type} and ${restrictionCondition(row, restrictionOf(type), type)})`;
  return {
    restricts: (type) => restrictionOf(type).length > 0,
    condition(row, types) {
      if (types !== undefined) {
        const restricted = types.filter((type) => restrictionOf(type).length > 0);
        const [only] = restricted;
        if (only === undefined) return undefined;
        if (types.length === 1) return restrictionCondition(row, restrictionOf(only), only);
        return sql`(${row}.resource_type <> all(${restricted}::text[]) or ${joinSql(
          restricted.map((type) => branch(row, type)),
          ' or ',
        )})`;
      }
      const restricted = [...byType.keys()];
      const branches = restricted.map((type) => branch(row, type));
      if (others.length === 0) {
        return sql`(${row}.resource_type <> all(${restricted}::text[]) or ${joinSql(branches, ' or ')})`;
      }
      // `*` scopes restrict every type no scope names; the named ones are judged by their own.
      const exempt = named.filter((type) => !byType.has(type));
      const rest = sql`(${row}.resource_type <> all(${named}::text[]) and ${restrictionCondition(row, others)})`;
      return sql`(${row}.resource_type = any(${exempt}::text[]) or ${joinSql([...branches, rest], ' or ')})`;
    },
  };
}

/** The grant of a token principal; internal and anonymous principals have no scopes. */
export function tokenGrantOf(principal: Principal): TokenGrant | undefined {
  return principal.kind === 'user' || principal.kind === 'client' ? principal : undefined;
}

/** The access decision's rows narrowed by `restriction`: both must let a row through. */
function narrowed(rows: RowFilter | undefined, restriction: ScopeRestriction): RowFilter {
  return {
    visible(row, types) {
      const condition = restriction.condition(row, types);
      if (rows === undefined) return condition ?? sql`true`;
      const decided = rows.visible(row, types);
      return condition === undefined ? decided : sql`(${decided} and ${condition})`;
    },
    // Criteria need the row's index rows: a restricted type is never judged by id or compartments.
    visibleById(resourceType, id) {
      if (restriction.restricts(resourceType)) return undefined;
      return rows === undefined ? true : rows.visibleById?.(resourceType, id);
    },
  };
}

/** Per principal: a request reads several times with the same token. */
const restrictions = new WeakMap<TokenGrant, ScopeRestriction | null>();

function tokenRestriction(principal: Principal): ScopeRestriction | undefined {
  const grant = tokenGrantOf(principal);
  if (grant === undefined) return undefined;
  let restriction = restrictions.get(grant);
  if (restriction === undefined) {
    restriction = readingRestriction(grant) ?? null;
    restrictions.set(grant, restriction);
  }
  return restriction ?? undefined;
}

/** `source`'s decisions, narrowed for every token whose scopes restrict by search criteria. */
export function withScopeRestrictions(source: RowFilterSource): RowFilterSource {
  return {
    filter(ctx, intent: ReadIntent, reader: FilterReader) {
      const rows = source.filter(ctx, intent, reader);
      const restriction = tokenRestriction(ctx.principal);
      if (restriction === undefined) return rows;
      return rows instanceof Promise
        ? rows.then((decided) => narrowed(decided, restriction))
        : narrowed(rows, restriction);
    },
    ...(source.committed !== undefined ? { committed: source.committed.bind(source) } : {}),
  };
}

/**
 * `row` (an alias with `resource_type` and `id`) matches every one of `filters`. The filters' SQL
 * names its own aliases (`t`, `s`, `x`…), so the row is first given one of its own that none of
 * them can shadow; the criteria then probe the row's index rows, which exist for current
 * resources only: a version in the history is judged by the resource as it is now, as every other
 * access rule judges it by the compartments it is in now.
 */
function criteriaCondition(row: Sql, filters: readonly SearchFilter[], types?: readonly string[]): Sql {
  const scoped = sql`${identifier('a_scope')}`;
  let counter = 0;
  const scope: SearchScope = {
    row: scoped,
    fresh: () => {
      counter += 1;
      return sql`${identifier(`a_scope${counter}`)}`;
    },
    normalize: normalizeString,
    now: Date.now(),
    param: (code) => sql`${code}`,
    ...(types !== undefined ? { types } : {}),
  };
  const conditions = filters.map((filter) => filterCondition(filter, scope));
  return sql`exists (select 1 from (values (${row}.resource_type, ${row}.id)) ${scoped}(resource_type, id)
    where ${joinSql(conditions, ' and ')})`;
}
