/**
 * A problem with one search parameter. Parsers throw it as a `FhirError` naming the parameter in
 * `expression`; `parseSearch` collects them as issues so the caller can choose lenient or strict
 * handling (search.html#errors).
 */
import { FhirError, type IssueCode } from '../../outcome.ts';

export function parameterError(parameter: string, code: IssueCode, diagnostics: string): FhirError {
  return new FhirError('invalid', { severity: 'error', code, diagnostics, expression: [parameter] });
}

export function malformed(parameter: string, diagnostics: string): FhirError {
  return parameterError(parameter, 'invalid', diagnostics);
}

export function unsupported(parameter: string, diagnostics: string): FhirError {
  return parameterError(parameter, 'not-supported', diagnostics);
}

/** A custom parameter registered but not yet searchable (SearchParameterDefinition.indexing). */
export function beingIndexed(parameter: string, code: string, resourceType: string): FhirError {
  return parameterError(
    parameter,
    'not-supported',
    `Search parameter '${code}' of ${resourceType} is being indexed: it can be searched once a $reindex covering ${resourceType} has completed`,
  );
}
