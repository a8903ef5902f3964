/**
 * Response formats (http://hl7.org/fhir/R4/http.html#mime-type): JSON only for now. `_format`
 * overrides `Accept`; asking only for something else (XML, Turtle) is answered 406.
 */
import { fhirError } from '@concordia/fhir';

export const FHIR_JSON = 'application/fhir+json';
const JSON_FORMATS = new Set(['json', 'application/json', FHIR_JSON, 'application/json+fhir', 'text/json']);

export function responseContentType(format: string | undefined, accept: string | undefined): string {
  if (format !== undefined) {
    const requested = format.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!JSON_FORMATS.has(requested)) {
      throw fhirError(
        'not-acceptable',
        'not-supported',
        `_format=${format} is not supported; this server speaks JSON (application/fhir+json)`,
      );
    }
    return requested === 'application/json' ? 'application/json' : FHIR_JSON;
  }
  if (accept === undefined || accept.trim() === '') return FHIR_JSON;
  const ranges = accept.split(',').map((part) => part.split(';')[0]?.trim().toLowerCase() ?? '');
  if (
    ranges.some(
      (range) =>
        range === FHIR_JSON ||
        range === 'application/json+fhir' ||
        range === '*/*' ||
        range === 'application/*',
    )
  ) {
    return FHIR_JSON;
  }
  if (ranges.includes('application/json') || ranges.includes('text/json')) return 'application/json';
  throw fhirError(
    'not-acceptable',
    'not-supported',
    `None of the accepted types (${accept}) can be produced; use application/fhir+json`,
  );
}

export const REQUEST_JSON_TYPES = [
  FHIR_JSON,
  'application/json',
  'application/json-patch+json',
  'application/json+fhir',
];
