/**
 * The criteria string of conditional interactions (http://hl7.org/fhir/R4/http.html#ccreate:
 * `If-None-Exist: identifier=http://a|1`; conditional references `Patient?identifier=…` in
 * transactions) as decoded name/value pairs, for the search parser (`query/parse-search.ts`).
 */
import { fhirError } from '../outcome.ts';

/**
 * A criteria query string (`identifier=a|1&name=x`, with or without a leading `?` or `Type?`) as
 * decoded name/value pairs.
 * @throws FhirError (invalid) for a pair without `=` or broken percent-encoding.
 */
export function decodeCriteriaQuery(resourceType: string, query: string): [string, string][] {
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
