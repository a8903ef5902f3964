/**
 * The access decision as the store receives it (DESIGN.md rule 2): a SQL condition on a row that
 * has `resource_type` and `id` columns — a current resource, a history version, an included or a
 * chained resource. The store knows no policy; it asks its `RowFilterSource` (built in access/ and
 * handed to the store by the composition root) once per read, and adds the condition to every
 * statement that can return, count or test the existence of a resource. No filter: every row.
 */
import type { SearchFilter } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { SqlExecutor } from './database.ts';
import type { Sql } from './sql.ts';

export interface RowFilter {
  /**
   * The condition on `row` (an alias such as `r0`); `types`, when given, are the only resource
   * types `row` can be, so the condition may leave out what cannot apply.
   */
  visible(row: Sql, types?: readonly string[]): Sql;
  /**
   * The same decision taken on one row already read, from the Patient compartments it belongs to
   * (`compartment.patient_id`): present when the decision needs nothing else of the row. A read
   * by id then fetches the row with its compartments and asks this instead of adding `visible`,
   * which spares the database the decision's own lookups.
   */
  visibleIn?(resourceType: string, patients: readonly string[]): boolean;
  /**
   * The decision on the row `resourceType/id` from those alone, when it can be taken so (a type
   * outside the compartment, a Patient whose id the decision holds); `undefined` when it cannot.
   * It does not depend on whether the row exists, so a row refused this way reads as absent
   * without a statement, and answers as an id that never existed does.
   */
  visibleById?(resourceType: string, id: string): boolean | undefined;
}

/**
 * What the store is about to read: a search also says what it searches for. `write`: the store
 * checks that what a request wrote lies within its reach — `collect`, a resource created;
 * `correct`, one updated, patched or deleted (consentaction, for a Consent denying those only).
 */
export type ReadIntent =
  | { kind: 'read' }
  | { kind: 'write'; action: WriteAction }
  | { kind: 'search'; resourceTypes: readonly string[]; filters: readonly SearchFilter[] }
  | { kind: 'everything' }
  | { kind: 'history' }
  | { kind: 'count' };

/** A write as consentaction names it: `collect` creates, `correct` updates, patches or deletes. */
export type WriteAction = 'collect' | 'correct';

/** Where a filter may look up what it needs: the read's own connection (or transaction). */
export interface FilterReader {
  db: SqlExecutor;
  /**
   * Resource types the read's transaction has written and not yet committed: what the decision
   * knows about them from before may be out of date for this transaction.
   */
  uncommitted?: ReadonlySet<string>;
}

export interface RowFilterSource {
  /** The filter of one read; `undefined`: this context reads every row (internal jobs, open mode). */
  filter(
    ctx: RequestContext,
    intent: ReadIntent,
    reader: FilterReader,
  ): RowFilter | undefined | Promise<RowFilter | undefined>;
  /**
   * A store transaction that wrote (created, updated, deleted) these types has ended — committed,
   * or rolled back: anything read while it was open may no longer hold.
   */
  committed?(resourceTypes: ReadonlySet<string>): void;
}

/** The source of a store without access decision: every context reads every row. */
export const NO_ROW_FILTER: RowFilterSource = { filter: () => undefined };
