/**
 * `_summary` and `_elements` on reads (http://hl7.org/fhir/R4/search.html#summary, #elements).
 * Without them a read sends the stored JSON untouched; with them the resource is parsed, subset
 * and tagged SUBSETTED.
 */
import {
  applySummary,
  fhirError,
  parseElementsParameter,
  parseSummaryMode,
  selectElements,
} from '@concordia/fhir';
import type { FhirResponse } from './interaction.ts';
import { queryValue } from './query.ts';
import { parseStoredJson } from './version-response.ts';

export function shapeRead(response: FhirResponse, query: [string, string][]): FhirResponse {
  const summary = queryValue(query, '_summary');
  const elements = queryValue(query, '_elements');
  if ((summary === undefined && elements === undefined) || response.body?.kind !== 'json') return response;
  let resource = parseStoredJson(response.body.json);
  if (summary !== undefined) {
    const mode = parseSummaryMode(summary);
    if (mode === 'count')
      throw fhirError('invalid', 'invalid', '_summary=count only applies to searches', ['_summary']);
    resource = applySummary(resource, mode);
  }
  if (elements !== undefined) resource = selectElements(resource, parseElementsParameter(elements));
  return { ...response, body: { kind: 'resource', resource } };
}
