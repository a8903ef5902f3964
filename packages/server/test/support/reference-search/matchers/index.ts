/** The matcher of each parameter type the reference evaluator knows; add new types here. */
import type { SearchParamType } from '@concordia/fhir';
import { dateMatcher } from './date.ts';
import type { ParameterMatcher } from './matcher.ts';
import { numberMatcher } from './number.ts';
import { quantityMatcher } from './quantity.ts';
import { referenceMatcher } from './reference.ts';
import { stringMatcher } from './string.ts';
import { tokenMatcher } from './token.ts';
import { uriMatcher } from './uri.ts';

const MATCHERS: readonly ParameterMatcher[] = [
  tokenMatcher,
  stringMatcher,
  referenceMatcher,
  dateMatcher,
  numberMatcher,
  quantityMatcher,
  uriMatcher,
];

export function matcherFor(type: SearchParamType): ParameterMatcher | undefined {
  return MATCHERS.find((matcher) => matcher.type === type);
}
