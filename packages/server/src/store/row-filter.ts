/**
 * The access decision as the store receives it (DESIGN.md rule 2): a SQL condition on a row that
 * has `resource_type` and `id` columns — a current resource, a history version, an included or a
 * chained resource. The store knows no policy; it asks its `RowFilterSource` (built in access/ and
 * handed to the store by the composition root) once per read, and adds the condition to every
 * statement that can return, count or test the existence of a resource. No filter: every row.
 */
import type { SearchFilter } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { Sql } from './sql.ts';

export interface RowFilter {
  /**
   * The condition on `row` (an alias such as `r0`); `types`, when given, are the only resource
   * types `row` can be, so the condition may leave out what cannot apply.
   */
  visible(row: Sql, types?: readonly string[]): Sql;
}

/** What the store is about to read: a search also says what it searches for. */
export type ReadIntent =
  | { kind: 'read' }
  | { kind: 'search'; resourceTypes: readonly string[]; filters: readonly SearchFilter[] }
  | { kind: 'everything' }
  | { kind: 'history' }
  | { kind: 'count' };

/** `undefined`: this context reads every row (internal jobs, the open development mode). */
export type RowFilterSource = (ctx: RequestContext, intent: ReadIntent) => RowFilter | undefined;
