/**
 * string (http://hl7.org/fhir/R4/search.html#string): by default the value starts with the search
 * text, ignoring case and accents; `:exact` is the whole value, case and accents included;
 * `:contains` matches anywhere, ignoring case and accents. HumanName and Address are searched
 * by each of their parts and their text.
 */
import { unescapeSearchValue } from '../escaping.ts';
import { isObject, type SelectedValue } from '../select-values.ts';
import type { ParameterMatcher } from './matcher.ts';

export const stringMatcher: ParameterMatcher = {
  type: 'string',
  modifiers: ['exact', 'contains'],
  hasValue: (values) => values.some((value) => stringsOf(value).length > 0),
  matches(values, alternatives, modifier) {
    const strings = values.flatMap(stringsOf);
    return alternatives.some((alternative) => {
      const wanted = unescapeSearchValue(alternative);
      if (modifier === 'exact') return strings.includes(wanted);
      const folded = fold(wanted);
      return strings.some((value) =>
        modifier === 'contains' ? fold(value).includes(folded) : fold(value).startsWith(folded),
      );
    });
  },
};

/** Case- and accent-insensitive form: decomposed, combining marks dropped, lower case. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

const HUMAN_NAME = ['family', 'given', 'prefix', 'suffix', 'text'];
const ADDRESS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'];

/** The texts a value offers to string search; blank texts offer nothing. */
export function stringsOf(value: SelectedValue): string[] {
  const { type, data } = value;
  const texts =
    typeof data === 'string'
      ? [data]
      : isObject(data) && type === 'HumanName'
        ? HUMAN_NAME.flatMap((part) => partsOf(data[part]))
        : isObject(data) && type === 'Address'
          ? ADDRESS.flatMap((part) => partsOf(data[part]))
          : [];
  return texts.filter((text) => text.trim() !== '');
}

function partsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
