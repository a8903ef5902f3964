/**
 * Search criteria of conditional interactions (http://hl7.org/fhir/R4/http.html#ccreate,
 * `If-None-Exist: identifier=http://a|1`; conditional update/delete `Patient?identifier=…`),
 * parsed into criteria the store evaluates against the index. Supported so far: `_id`, token
 * parameters (no modifier) and string parameters (no modifier, `:exact`, `:contains`); anything
 * else is refused with a message naming the parameter, never silently ignored — ignoring a
 * criterion would widen the match and make a conditional update hit the wrong resource.
 */
import { fhirError } from '../outcome.ts';
import type { Criterion, TokenMatch } from './index-types.ts';
import { normalizeString } from './normalize-string.ts';
import { r4SearchParameters, type SearchParameterRegistry } from './search-parameters.ts';

/** http://hl7.org/fhir/R4/search.html#Summary: they shape a result page, they select nothing. */
const RESULT_PARAMETERS: ReadonlySet<string> = new Set([
  '_sort',
  '_count',
  '_include',
  '_revinclude',
  '_summary',
  '_total',
  '_elements',
  '_contained',
  '_containedType',
  '_format',
  '_pretty',
]);

type QueryPairs = readonly (readonly [string, string])[];

/**
 * @param query a query string (`identifier=a|1&name=x`, with or without a leading `?` or
 *   `Patient?`), URL-encoded; or already-decoded name/value pairs.
 * @throws FhirError (invalid) for unknown parameters, unsupported types or modifiers, and empty values.
 */
export function parseCriteria(
  resourceType: string,
  query: string | QueryPairs,
  registry: SearchParameterRegistry = r4SearchParameters(),
): Criterion[] {
  if (!registry.isResourceType(resourceType)) {
    throw fhirError('invalid', 'not-supported', `Unknown resource type '${resourceType}'`);
  }
  const pairs = typeof query === 'string' ? decodeQuery(resourceType, query) : query;
  if (pairs.length === 0) throw invalid('Search criteria are empty');
  return pairs.map(([name, value]) => parseCriterion(resourceType, name, value, registry));
}

function parseCriterion(
  resourceType: string,
  name: string,
  value: string,
  registry: SearchParameterRegistry,
): Criterion {
  const [code = '', modifier, ...rest] = name.split(':');
  if (code.length === 0) throw invalid(`Search parameter name is empty in '${name}=${value}'`);
  if (rest.length > 0) throw invalid(`Search parameter '${name}' has more than one modifier`);
  if (code.includes('.'))
    throw notSupported(`Chained search parameter '${name}' is not supported in criteria`);
  if (RESULT_PARAMETERS.has(code)) {
    throw notSupported(`'${code}' controls search results and has no meaning in conditional criteria`);
  }
  const parameter = registry.get(resourceType, code);
  if (!parameter) throw invalid(`Unknown search parameter '${code}' for ${resourceType}`);
  if (!parameter.expression) throw notSupported(`Search parameter '${code}' is not supported in criteria`);
  const values = splitValues(name, value);
  if (code === '_id') {
    refuseModifier(name, modifier, []);
    return { kind: 'id', values: values.map(unescapeSearchValue) };
  }
  switch (parameter.type) {
    case 'token':
      refuseModifier(name, modifier, []);
      return { kind: 'token', param: code, values: values.map((item) => tokenMatch(name, item)) };
    case 'string': {
      refuseModifier(name, modifier, ['exact', 'contains']);
      const mode = modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'starts-with';
      // :exact compares the value as written; the other modes compare normalised text.
      const texts = values
        .map(unescapeSearchValue)
        .map((text) => (mode === 'exact' ? text : normalizeString(text)));
      if (texts.some((text) => text.length === 0))
        throw invalid(`Search parameter '${name}' has an empty value`);
      return { kind: 'string', param: code, mode, values: texts };
    }
    default:
      throw notSupported(
        `Search parameter '${code}' has type ${parameter.type}, which conditional criteria do not support yet`,
      );
  }
}

function refuseModifier(name: string, modifier: string | undefined, allowed: readonly string[]): void {
  if (modifier !== undefined && !allowed.includes(modifier)) {
    throw notSupported(`Modifier ':${modifier}' is not supported on search parameter '${name}'`);
  }
}

/** `system|code`, `|code`, `system|`, `code` (http://hl7.org/fhir/R4/search.html#token). */
function tokenMatch(name: string, value: string): TokenMatch {
  const [first = '', second, ...more] = splitUnescaped(value, '|');
  if (more.length > 0) throw invalid(`Token '${value}' of search parameter '${name}' has more than one '|'`);
  if (second === undefined) return { code: unescapeSearchValue(first) };
  const system = unescapeSearchValue(first);
  const code = unescapeSearchValue(second);
  if (system.length === 0 && code.length === 0)
    throw invalid(`Search parameter '${name}' has an empty token '|'`);
  if (system.length === 0) return { system: null, code };
  return code.length === 0 ? { system } : { system, code };
}

/**
 * A comma separates alternatives (OR); `\,` is a literal comma
 * (http://hl7.org/fhir/R4/search.html#escaping). Items keep their escapes: a token still has to
 * be split on its unescaped `|`.
 */
function splitValues(name: string, value: string): string[] {
  if (value.length === 0) throw invalid(`Search parameter '${name}' has an empty value`);
  const values = splitUnescaped(value, ',');
  if (values.some((item) => item.length === 0)) {
    throw invalid(`Search parameter '${name}' has an empty value in '${value}'`);
  }
  return values;
}

function splitUnescaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      current += ch + value[i + 1];
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeSearchValue(value: string): string {
  return value.replace(/\\([\\,$|])/g, '$1');
}

/**
 * A criteria query string (`identifier=a|1&name=x`, with or without a leading `?` or `Type?`) as
 * decoded name/value pairs.
 * @throws FhirError (invalid) for a pair without `=` or broken percent-encoding.
 */
export function decodeCriteriaQuery(resourceType: string, query: string): [string, string][] {
  return decodeQuery(resourceType, query);
}

function decodeQuery(resourceType: string, query: string): [string, string][] {
  let rest = query;
  if (rest.startsWith(`${resourceType}?`)) rest = rest.slice(resourceType.length + 1);
  else if (rest.startsWith('?')) rest = rest.slice(1);
  return rest
    .split('&')
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 0) throw invalid(`Search parameter '${decode(pair)}' has no value`);
      return [decode(pair.slice(0, equals)), decode(pair.slice(equals + 1))];
    });
}

/** application/x-www-form-urlencoded: `+` is a space, then percent-decoding. */
function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw invalid(`Search criteria are not correctly URL-encoded near '${text}'`);
  }
}

function invalid(diagnostics: string) {
  return fhirError('invalid', 'invalid', diagnostics);
}

function notSupported(diagnostics: string) {
  return fhirError('invalid', 'not-supported', diagnostics);
}
