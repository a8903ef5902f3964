/**
 * uri (http://hl7.org/fhir/R4/search.html#uri): the whole value, case-sensitive; `:below` matches
 * values the search value is a prefix of, `:above` values that are a prefix of the search value.
 */
import { unescapeSearchValue } from '../escaping.ts';
import type { SelectedValue } from '../select-values.ts';
import type { ParameterMatcher } from './matcher.ts';

export const uriMatcher: ParameterMatcher = {
  type: 'uri',
  modifiers: ['below', 'above'],
  hasValue: (values) => values.some((value) => uriOf(value) !== undefined),
  matches(values, alternatives, modifier) {
    const uris = values.flatMap((value) => uriOf(value) ?? []);
    return alternatives.some((alternative) => {
      const wanted = unescapeSearchValue(alternative);
      return uris.some((uri) =>
        modifier === 'below'
          ? uri.startsWith(wanted)
          : modifier === 'above'
            ? wanted.startsWith(uri)
            : uri === wanted,
      );
    });
  },
};

export function uriOf(value: SelectedValue): string | undefined {
  return typeof value.data === 'string' && value.data !== '' ? value.data : undefined;
}
