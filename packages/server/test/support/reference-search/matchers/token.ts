/**
 * token (http://hl7.org/fhir/R4/search.html#token): `code`, `system|code`, `|code` (no system),
 * `system|` (any code of the system); `:not` is the negation of the whole parameter and therefore
 * also matches resources without any value. Matching is exact (case-sensitive).
 */
import { splitUnescaped, unescapeSearchValue } from '../escaping.ts';
import { isObject, type SelectedValue } from '../select-values.ts';
import type { ParameterMatcher } from './matcher.ts';

interface Token {
  system: string | undefined;
  code: string;
}

export const tokenMatcher: ParameterMatcher = {
  type: 'token',
  modifiers: ['not'],
  hasValue: (values) => values.some((value) => tokensOf(value).length > 0),
  matches(values, alternatives, modifier) {
    const tokens = values.flatMap(tokensOf);
    const any = alternatives.some((alternative) => tokens.some((token) => tokenMatches(token, alternative)));
    return modifier === 'not' ? !any : any;
  },
};

function tokenMatches(token: Token, alternative: string): boolean {
  const parts = splitUnescaped(alternative, '|').map(unescapeSearchValue);
  const [first = '', second] = parts;
  if (second === undefined) return token.code === first;
  if (first === '') return token.system === undefined && token.code === second;
  if (second === '') return token.system === first;
  return token.system === first && token.code === second;
}

/**
 * The search.html#token table: Coding and CodeableConcept by system and code, Identifier by system
 * and value, ContactPoint by value, and primitives (code, boolean, id, string, uri) without a system.
 */
function tokensOf(value: SelectedValue): Token[] {
  const { type, data } = value;
  if (typeof data === 'string') return data === '' ? [] : [{ system: undefined, code: data }];
  if (typeof data === 'boolean' || typeof data === 'number')
    return [{ system: undefined, code: String(data) }];
  if (!isObject(data)) return [];
  switch (type) {
    case 'Coding':
      return coding(data);
    case 'CodeableConcept':
      return Array.isArray(data.coding) ? data.coding.filter(isObject).flatMap(coding) : [];
    case 'Identifier':
      return typeof data.value === 'string' ? [{ system: text(data.system), code: data.value }] : [];
    case 'ContactPoint':
      return typeof data.value === 'string' ? [{ system: undefined, code: data.value }] : [];
    default:
      return [];
  }
}

function coding(data: Record<string, unknown>): Token[] {
  return typeof data.code === 'string' ? [{ system: text(data.system), code: data.code }] : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The tokens a value holds, for query generation. */
export function tokenValues(value: SelectedValue): { system: string | undefined; code: string }[] {
  return tokensOf(value);
}
