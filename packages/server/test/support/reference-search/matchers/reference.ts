/**
 * reference (http://hl7.org/fhir/R4/search.html#reference): `Type/id`, a bare `id` (any type, or
 * the type of a `:Type` modifier), or an absolute URL, matched by the `Type/id` it ends in (the
 * server keeps no base URL: docs/search.md). Canonical values are matched by their URL.
 */
import { literalTarget } from '../dataset.ts';
import { unescapeSearchValue } from '../escaping.ts';
import { isObject, type SelectedValue } from '../select-values.ts';
import type { ParameterMatcher } from './matcher.ts';

export const referenceMatcher: ParameterMatcher = {
  type: 'reference',
  // Any resource type may be the modifier (`subject:Patient=1`); the parser checks it is a target.
  modifiers: ['*'],
  // search.html#missing: a reference to a contained resource (`#coverage`) is a value too, though
  // no `Type/id` search can match it.
  hasValue: (values) => values.some((value) => referenceText(value) !== undefined),
  matches(values, alternatives, modifier) {
    return alternatives.some((alternative) => {
      const wanted = unescapeSearchValue(alternative);
      return values.some((value) => referenceMatches(value, wanted, modifier));
    });
  },
};

function referenceMatches(value: SelectedValue, wanted: string, typeModifier: string | undefined): boolean {
  const text = referenceText(value);
  if (text === undefined) return false;
  if (value.type === 'canonical' || value.type === 'uri') return text === wanted;
  const target = literalTarget(text);
  if (target === undefined) return false;
  if (!wanted.includes('/')) {
    return target.id === wanted && (typeModifier === undefined || target.type === typeModifier);
  }
  const searched = literalTarget(wanted);
  return searched !== undefined && searched.type === target.type && searched.id === target.id;
}

/** A Reference's literal reference, or a canonical's URL. */
export function referenceText(value: SelectedValue): string | undefined {
  const { type, data } = value;
  if ((type === 'canonical' || type === 'uri') && typeof data === 'string') return data;
  if (type === 'Reference' && isObject(data) && typeof data.reference === 'string') return data.reference;
  return undefined;
}
