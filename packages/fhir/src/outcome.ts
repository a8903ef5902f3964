/**
 * Errors as data (STYLE.md): the core throws `FhirError`; each door turns it into its own wire
 * form in exactly one place (OperationOutcome over HTTP, ACK AE/AR over HL7, a DICOM status).
 * Issue codes: http://hl7.org/fhir/R4/valueset-issue-type.html
 */
import type { FhirResource } from './resource.ts';

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'unknown'
  | 'expired'
  | 'forbidden'
  | 'suppressed'
  | 'processing'
  | 'not-supported'
  | 'duplicate'
  | 'multiple-matches'
  | 'not-found'
  | 'deleted'
  | 'too-long'
  | 'code-invalid'
  | 'extension'
  | 'too-costly'
  | 'business-rule'
  | 'conflict'
  | 'transient'
  | 'lock-error'
  | 'no-store'
  | 'exception'
  | 'timeout'
  | 'incomplete'
  | 'throttled'
  | 'informational';

export interface OutcomeIssue {
  severity: IssueSeverity;
  code: IssueCode;
  diagnostics?: string;
  /** FHIRPath expressions locating the element, e.g. `Patient.birthDate`. */
  expression?: string[];
}

export interface OperationOutcome extends FhirResource {
  resourceType: 'OperationOutcome';
  issue: OutcomeIssue[];
}

/**
 * Why a request failed, independent of transport. `status` is the HTTP status the FHIR door
 * answers with (http.html#Status-codes); other doors map `issue.code` instead.
 */
export type FailureKind =
  | 'invalid' // 400
  | 'not-found' // 404
  | 'gone' // 410
  | 'method-not-allowed' // 405
  | 'not-acceptable' // 406
  | 'conflict' // 409
  | 'precondition-failed' // 412
  | 'unsupported-media-type' // 415
  | 'unprocessable' // 422
  | 'too-large' // 413
  | 'forbidden' // 403
  | 'unauthorized' // 401
  | 'not-implemented' // 501
  | 'unavailable' // 503
  | 'internal'; // 500

export const failureStatus: Record<FailureKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  conflict: 409,
  gone: 410,
  'precondition-failed': 412,
  'too-large': 413,
  'unsupported-media-type': 415,
  unprocessable: 422,
  internal: 500,
  'not-implemented': 501,
  unavailable: 503,
};

export class FhirError extends Error {
  readonly kind: FailureKind;
  readonly issues: OutcomeIssue[];

  constructor(kind: FailureKind, issues: OutcomeIssue[] | OutcomeIssue) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map((i) => i.diagnostics ?? i.code).join('; '));
    this.name = 'FhirError';
    this.kind = kind;
    this.issues = list;
  }

  get status(): number {
    return failureStatus[this.kind];
  }

  toOperationOutcome(): OperationOutcome {
    return operationOutcome(this.issues);
  }
}

export function operationOutcome(issues: OutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** Shorthand for the common single-issue error. */
export function fhirError(
  kind: FailureKind,
  code: IssueCode,
  diagnostics: string,
  expression?: string[],
): FhirError {
  return new FhirError(kind, {
    severity: 'error',
    code,
    diagnostics,
    ...(expression ? { expression } : {}),
  });
}

export function informationOutcome(diagnostics: string): OperationOutcome {
  return operationOutcome([{ severity: 'information', code: 'informational', diagnostics }]);
}
