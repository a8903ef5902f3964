/**
 * One module per search parameter type (http://hl7.org/fhir/R4/search.html#ptypes) says what a
 * resource's selected values are for that type and whether they match a filter. New parameter
 * types or modifiers (quantity, composite, token :text/:of-type, special) are new matcher modules
 * registered in `matchers/index.ts`; the evaluator itself does not change.
 */
import type { SearchParamType } from '@concordia/fhir';
import type { SelectedValue } from '../select-values.ts';

export interface MatchContext {
  /** The instant `ap` on dates is measured from (search.html#prefix). */
  now: number;
}

export interface ParameterMatcher {
  readonly type: SearchParamType;
  /** Modifiers the matcher evaluates (`:missing` is the evaluator's, for every type). */
  readonly modifiers: readonly string[];
  /** Whether the values hold something this type can search on (for `:missing`). */
  hasValue(values: readonly SelectedValue[]): boolean;
  /**
   * Whether a resource with `values` matches one parameter's comma-separated alternatives
   * (still escaped: `\,` and `\|` are the matcher's to read) under `modifier`.
   */
  matches(
    values: readonly SelectedValue[],
    alternatives: readonly string[],
    modifier: string | undefined,
    context: MatchContext,
  ): boolean;
}
