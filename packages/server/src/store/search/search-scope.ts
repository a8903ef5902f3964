/**
 * Where a filter's SQL applies: a row of `resource` under an alias. Chains and `_has` join further
 * `resource` rows, each under a fresh alias, so nested conditions never capture the wrong row.
 */

import type { RowFilter } from '../row-filter.ts';
import { identifier, type Sql, sql } from '../sql.ts';
import type { StringNormalizer } from './string-normalizer.ts';

export interface SearchScope {
  /** The resource row filters test (`"r0"`). */
  row: Sql;
  /** A new alias for a nested resource row. */
  fresh(): Sql;
  normalize: StringNormalizer;
  /** The instant `ap` is measured from (search.html#prefix). */
  now: number;
  /** The resource types `row` can be, when known (a type search, a chain's target): lets SQL name them. */
  types?: readonly string[];
  /** The access decision (row-filter.ts): every resource row a filter joins must pass it too. */
  access?: RowFilter;
  /**
   * The `param` of `row`'s index rows for a parameter code: the code itself, or for a contained
   * resource (search.html#contained) the code under its local id, `#med1:code` (contained-sql.ts).
   */
  param(code: string): Sql;
  /** `row` is a contained resource (containedScope): its id is its local one. */
  contained?: { localId: Sql };
}

const plainParam = (code: string): Sql => sql`${code}`;

export function rootScope(
  normalize: StringNormalizer,
  now: number,
  types?: readonly string[],
  access?: RowFilter,
): SearchScope {
  let counter = 0;
  const fresh = () => {
    counter += 1;
    return sql`${identifier(`r${counter}`)}`;
  };
  return {
    row: sql`${identifier('r0')}`,
    fresh,
    normalize,
    now,
    param: plainParam,
    ...(types ? { types } : {}),
    ...(access ? { access } : {}),
  };
}

/** `row` passes the access decision (no decision: `true`), so nested rows cannot leak existence. */
export function visibleRow(scope: SearchScope, row: Sql, types?: readonly string[]): Sql {
  return scope.access === undefined ? sql`true` : scope.access.visible(row, types);
}

/** A resource row joined inside a filter (a chain's target, a `_has` source): its own index rows. */
export function nestedScope(scope: SearchScope, row: Sql, types?: readonly string[]): SearchScope {
  const { types: _outer, contained: _contained, ...rest } = scope;
  return { ...rest, row, param: plainParam, ...(types ? { types } : {}) };
}

/**
 * A contained resource, `row` being the `search_token` row that names it (`_contained`): its
 * `resource_type` and `id` are its container's, its `code` the local id. The contained resource's
 * index rows are its container's under `#<local id>:<param>` (`containedParam` of
 * @concordia/fhir), so every filter's SQL applies unchanged with the param computed from the row.
 */
export function containedScope(scope: SearchScope, row: Sql): SearchScope {
  const { types: _outer, ...rest } = scope;
  const localId = sql`${row}.code`;
  return {
    ...rest,
    row,
    param: (code) => sql`('#' || ${localId} || ${`:${code}`})`,
    contained: { localId },
  };
}
