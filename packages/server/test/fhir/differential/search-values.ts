/**
 * Search values for one parameter, built from a value that occurs in the data (so the query is
 * likely to match) or from nothing (so it is likely not to), in the forms and with the modifiers
 * and prefixes of search.html for each parameter type. Values are escaped (search.html#escaping)
 * but not URL-encoded.
 */
import type { SearchParameterDefinition } from '@concordia/fhir';
import { literalTarget } from '../../support/reference-search/dataset.ts';
import { escapeSearchValue } from '../../support/reference-search/escaping.ts';
import { rangeOf } from '../../support/reference-search/matchers/date.ts';
import { numberOf } from '../../support/reference-search/matchers/number.ts';
import { PREFIXES } from '../../support/reference-search/matchers/prefix.ts';
import { referenceText } from '../../support/reference-search/matchers/reference.ts';
import { stringsOf } from '../../support/reference-search/matchers/string.ts';
import { tokenValues } from '../../support/reference-search/matchers/token.ts';
import { uriOf } from '../../support/reference-search/matchers/uri.ts';
import type { SeededRandom } from '../../support/reference-search/seeded-random.ts';
import type { SelectedValue } from '../../support/reference-search/select-values.ts';
import { dateSearch } from './date-values.ts';
import { quantitySearch } from './quantity-values.ts';

export interface SearchValue {
  modifier?: string;
  text: string;
}

/** The server's FHIR base in the test app: absolute references to it name local resources. */
export const FHIR_BASE = 'http://fhir.test/fhir';

/** A search value for `definition` from `value` (undefined: an invented one), or undefined when none fits. */
export function searchValueFor(
  random: SeededRandom,
  definition: SearchParameterDefinition,
  value: SelectedValue | undefined,
  options: { modifiers: boolean } = { modifiers: true },
): SearchValue | undefined {
  switch (definition.type) {
    case 'token':
      return tokenSearch(random, value, options.modifiers);
    case 'string':
      return stringSearch(random, value, options.modifiers);
    case 'reference':
      return referenceSearch(random, value, definition, options.modifiers);
    case 'date':
      return { text: dateSearch(random, value === undefined ? undefined : rangeOf(value)) };
    case 'number':
      return numberSearch(random, value);
    case 'quantity':
      return quantitySearch(random, value);
    case 'uri':
      return uriSearch(random, value, options.modifiers);
    default:
      return undefined;
  }
}

function invented(random: SeededRandom, prefix = ''): string {
  return `${prefix}${Math.floor(random.next() * 36 ** 6).toString(36)}`;
}

function tokenSearch(
  random: SeededRandom,
  value: SelectedValue | undefined,
  modifiers: boolean,
): SearchValue | undefined {
  const tokens = value === undefined ? [] : tokenValues(value);
  const not = modifiers && random.chance(0.2) ? { modifier: 'not' } : {};
  if (tokens.length === 0) {
    const text = random.chance(0.5)
      ? escapeSearchValue(invented(random))
      : `http://invented.example|${escapeSearchValue(invented(random))}`;
    return { ...not, text };
  }
  const token = random.pickFrom(tokens);
  const system = token.system === undefined ? undefined : escapeSearchValue(token.system);
  const code = escapeSearchValue(token.code);
  const forms = [code, `|${code}`, system === undefined ? code : `${system}|${code}`];
  if (system !== undefined)
    forms.push(`${system}|`, `${system}|${code}`, `${system}|${escapeSearchValue(invented(random))}`);
  const text = random.pickFrom(forms);
  if ('modifier' in not) return { ...not, text };
  // search.html#combining: a comma is OR.
  return { text: random.chance(0.25) ? `${text},${escapeSearchValue(invented(random))}` : text };
}

function stringSearch(
  random: SeededRandom,
  value: SelectedValue | undefined,
  modifiers: boolean,
): SearchValue | undefined {
  const texts = value === undefined ? [] : stringsOf(value);
  if (texts.length === 0) return { text: invented(random, 'zq') };
  const whole = random.pickFrom(texts);
  const roll = random.next();
  if (modifiers && roll < 0.2) {
    return { modifier: 'exact', text: escapeSearchValue(random.chance(0.7) ? whole : recase(random, whole)) };
  }
  if (modifiers && roll < 0.4) {
    const start = random.integer(0, Math.max(0, whole.length - 1));
    const part = whole.slice(start, start + random.integer(1, 6)).trim();
    return part === '' ? undefined : { modifier: 'contains', text: escapeSearchValue(recase(random, part)) };
  }
  const prefix = whole.slice(0, random.integer(1, Math.min(whole.length, 8))).trim();
  if (prefix === '') return undefined;
  const text = random.chance(0.3) ? accented(prefix) : recase(random, prefix);
  return {
    text: random.chance(0.2)
      ? `${escapeSearchValue(text)},${invented(random, 'zq')}`
      : escapeSearchValue(text),
  };
}

/** Upper case, lower case, or as written: string search ignores case (but :exact does not). */
function recase(random: SeededRandom, text: string): string {
  return random.pickFrom([text.toUpperCase(), text.toLowerCase(), text]);
}

/** `Emile` → `Émile`-like: an accent added to the vowels, which string search must ignore. */
function accented(text: string): string {
  return text.replace(/[aeiou]/g, (vowel) => `${vowel}\u0301`).normalize('NFC');
}

function referenceSearch(
  random: SeededRandom,
  value: SelectedValue | undefined,
  definition: SearchParameterDefinition,
  modifiers: boolean,
): SearchValue | undefined {
  const text = value === undefined ? undefined : referenceText(value);
  const target = text === undefined ? undefined : literalTarget(text);
  if (target === undefined) {
    const type = random.pickFrom(definition.targets.length > 0 ? definition.targets : ['Patient']);
    return { text: `${type}/${invented(random)}` };
  }
  const roll = random.next();
  if (roll < 0.35) return { text: `${target.type}/${target.id}` };
  if (roll < 0.55) return { text: target.id };
  if (roll < 0.7 && modifiers) return { modifier: target.type, text: target.id };
  if (roll < 0.8) return { text: `${FHIR_BASE}/${target.type}/${target.id}` };
  if (roll < 0.9) return { text: `${target.type}/${target.id},${target.type}/${invented(random)}` };
  // The right id under another target type matches nothing.
  const other = definition.targets.find((type) => type !== target.type) ?? 'Group';
  return { text: `${other}/${target.id}` };
}

function numberSearch(random: SeededRandom, value: SelectedValue | undefined): SearchValue {
  const prefix = random.chance(0.3) ? '' : random.pickFrom(PREFIXES);
  const number = value === undefined ? undefined : numberOf(value);
  const base =
    number === undefined ? random.next() * 2 - 0.5 : Number(`${number.coefficient}e${number.exponent}`);
  const written = base.toFixed(random.integer(0, 4));
  return { text: `${prefix}${random.chance(0.1) ? `${written},${random.next().toFixed(2)}` : written}` };
}

function uriSearch(random: SeededRandom, value: SelectedValue | undefined, modifiers: boolean): SearchValue {
  const uri = value === undefined ? undefined : uriOf(value);
  if (uri === undefined) return { text: `http://invented.example/${invented(random)}` };
  const roll = random.next();
  if (modifiers && roll < 0.35)
    return { modifier: 'below', text: escapeSearchValue(uri.slice(0, random.integer(1, uri.length))) };
  if (modifiers && roll < 0.6) {
    const longer = random.pickFrom([uri, `${uri}/_history/1`, `${uri}.1`, `${uri}x`]);
    return { modifier: 'above', text: escapeSearchValue(random.chance(0.2) ? longer.slice(0, -2) : longer) };
  }
  return { text: escapeSearchValue(random.chance(0.8) ? uri : uri.slice(0, -1)) };
}
