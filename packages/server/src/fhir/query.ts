/**
 * Separates the parameters that shape a response (`_format`, `_pretty`, `_summary`, `_elements`)
 * from search criteria (http://hl7.org/fhir/R4/http.html#parameters): conditional interactions
 * must not treat `_format=json` as a criterion.
 */
const RESULT_PARAMETERS = new Set(['_format', '_pretty', '_summary', '_elements']);

export function criteriaQuery(query: [string, string][]): [string, string][] {
  return query.filter(([name]) => !RESULT_PARAMETERS.has(name));
}

export function queryValue(query: [string, string][], name: string): string | undefined {
  return query.find(([key]) => key === name)?.[1];
}

export function queryValues(query: [string, string][], name: string): string[] {
  return query.filter(([key]) => key === name).map(([, value]) => value);
}
