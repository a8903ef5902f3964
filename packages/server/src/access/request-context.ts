/**
 * Who is asking, for what, and from where. Every door builds one per request and every layer
 * below receives it: the store will turn the access decision into a SQL filter from it, and the
 * audit will record it. Until identity lands the only principal is the open development one.
 */
export type Principal =
  | { kind: 'open-development' }
  | { kind: 'system'; id: string } // internal jobs: migrations, demo loader, CLI import
  | { kind: 'user'; id: string; roles: string[]; fhirUser?: string };

export interface RequestContext {
  principal: Principal;
  /** OAuth client id of the calling application, when known. */
  clientId?: string;
  /** Purpose of use (http://terminology.hl7.org/ValueSet/v3-PurposeOfUse), e.g. TREAT, ETREAT. */
  purposeOfUse?: string;
  sourceIp?: string;
  userAgent?: string;
  requestId: string;
}

export function systemContext(id: string, requestId = `system-${id}`): RequestContext {
  return { principal: { kind: 'system', id }, requestId };
}
