/**
 * Purpose of use and break-the-glass, as a client states them over HTTP: `X-Purpose-Of-Use` with a
 * code of http://terminology.hl7.org/CodeSystem/v3-ActReason (TREAT, ETREAT, HPAYMT…) and, for
 * emergency access (ETREAT), `X-Break-Glass-Reason` with a free-text reason. Headers rather than a
 * scope or a launch parameter: break-the-glass is decided per request, for the patient in front of
 * the clinician, and a token stays the same for its whole life (docs/security.md). The request is
 * granted only to the emergency role and only with a reason (`refuseBreakTheGlass`); it is always
 * flagged on the RequestContext, so the audit records it and reports it to the patient.
 */
import { FhirError } from '@concordia/fhir';
import type { RequestContext } from './request-context.ts';

export const PURPOSE_OF_USE_HEADER = 'x-purpose-of-use';
export const BREAK_GLASS_REASON_HEADER = 'x-break-glass-reason';
export const EMERGENCY_TREATMENT = 'ETREAT';

/** The context fields the headers set (`purposeOfUse`, `breakTheGlass`); none without them. */
export function purposeOfUse(
  headers: Record<string, string | string[] | undefined>,
): Pick<RequestContext, 'purposeOfUse' | 'breakTheGlass'> {
  const purpose = single(headers[PURPOSE_OF_USE_HEADER])?.trim().toUpperCase();
  if (purpose === undefined || purpose === '') return {};
  if (purpose !== EMERGENCY_TREATMENT) return { purposeOfUse: purpose };
  const reason = single(headers[BREAK_GLASS_REASON_HEADER])?.trim() ?? '';
  return { purposeOfUse: purpose, breakTheGlass: { reason } };
}

/** Why a break-the-glass request is refused (403), or undefined when it is granted. */
export function refuseBreakTheGlass(ctx: RequestContext): FhirError | undefined {
  if (ctx.breakTheGlass === undefined) return undefined;
  const { principal } = ctx;
  if (principal.kind !== 'user' || !principal.roles.includes('emergency')) {
    return forbidden('Break-the-glass (X-Purpose-Of-Use: ETREAT) is granted to the emergency role only');
  }
  if (ctx.breakTheGlass.reason === '') {
    return forbidden(`Break-the-glass needs a reason: send ${BREAK_GLASS_REASON_HEADER}`);
  }
  return undefined;
}

function forbidden(diagnostics: string): FhirError {
  return new FhirError('forbidden', [{ severity: 'error', code: 'forbidden', diagnostics }]);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
