/**
 * `_list` (http://hl7.org/fhir/R4/search.html#list): the resources a List holds in `entry.item`.
 * `_list=42` names List/42; `_list=$current-allergies` names a functional list
 * (lifecycle.html#lists) of the patient the search is about. R4 has no SearchParameter resource
 * for `_list`, so it is recognised by name on every resource type.
 */
import { splitAlternatives } from './filter-values.ts';
import { malformed, unsupported } from './parameter-issue.ts';
import type { FunctionalListName, ListValue, SearchFilter } from './search-query.ts';

export const LIST_PARAMETER = '_list';

const FUNCTIONAL_LISTS: readonly FunctionalListName[] = [
  'current-allergies',
  'current-problems',
  'current-medications',
];

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function listFilter(parameter: string, modifier: string | undefined, value: string): SearchFilter {
  if (modifier !== undefined) {
    throw unsupported(parameter, `Modifier ':${modifier}' is not supported on '${LIST_PARAMETER}'`);
  }
  const values = splitAlternatives(parameter, value).map((item) => listValue(parameter, item));
  return { kind: 'list', parameter, code: LIST_PARAMETER, values };
}

function listValue(parameter: string, item: string): ListValue {
  // An unescaped `$` starts a functional list's name; `\$` would be a literal (search.html#escaping).
  if (item.startsWith('$')) {
    const name = FUNCTIONAL_LISTS.find((candidate) => `$${candidate}` === item);
    if (name === undefined) {
      throw unsupported(
        parameter,
        `'${item}' is not a functional list this server knows; use ${FUNCTIONAL_LISTS.map((n) => `$${n}`).join(', ')} or a List id`,
      );
    }
    return { kind: 'functional', name };
  }
  if (!ID.test(item)) throw malformed(parameter, `'${item}' is not the id of a List`);
  return { kind: 'id', id: item };
}
