/**
 * `GET /fhir/Patient/{id}/$access-report`: who accessed this patient's record (DESIGN.md D6/D7,
 * "patients see who looked at their data"). Every AuditEvent about the patient — reads, searches
 * that found them, writes, exports, refused attempts — newest first, as a Parameters resource with
 * one `access` per event: when, who (and in which role), for which organization, what they did,
 * why (purpose of use), whether it was a break-the-glass access and its reason, and the outcome.
 * Network addresses and client details stay in the audit for auditors.
 *
 * Allowed for the patient themself (a token whose `fhirUser` or launch patient is this Patient),
 * for administrators and auditors, and for internal principals.
 */
import { FhirError, isRecord } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { FhirResponse } from '../fhir/interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../fhir/interaction-env.ts';
import { type FhirOperation, operationParameters, singleParameter } from '../fhir/operations.ts';
import type { SqlExecutor } from '../store/database.ts';
import { auditEventQuery, cursorText } from './audit-event-query.ts';
import { CONCORDIA_ROLE } from './balp-codes.ts';
import { searchAuditEvents } from './stored-audit-events.ts';

export const ACCESS_REPORT_DEFINITION = 'https://concordia.example/fhir/OperationDefinition/access-report';

const AUDITOR_ROLES: ReadonlySet<string> = new Set(['administrator', 'auditor']);

/** `settle`: as for the AuditEvent reader (audit-event-reader.ts), the node's pending rows first. */
export function accessReportOperation(db: SqlExecutor, settle?: () => Promise<void>): FhirOperation {
  return {
    name: 'access-report',
    definition: ACCESS_REPORT_DEFINITION,
    instance: ['Patient'],
    methods: ['GET', 'POST'],
    // Not the token's scopes: the patient reads their own report whatever scopes the app holds.
    checksAccessItself: true,
    async handler(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
      const patientId = request.id ?? '';
      requireOwnerOrAuditor(env.ctx, patientId);
      await settle?.();
      const parameters = operationParameters(request.query, request.body);
      const since = singleParameter(parameters, 'since');
      const cursor = singleParameter(parameters, '_cursor');
      const count = singleParameter(parameters, '_count');
      const query = auditEventQuery(
        [
          ['patient', `Patient/${patientId}`],
          ...(since !== undefined ? ([['date', `ge${since}`]] as const) : []),
          ...(cursor !== undefined ? ([['_cursor', cursor]] as const) : []),
          ...(count !== undefined ? ([['_count', count]] as const) : []),
        ],
        { defaultCount: 100, maxCount: 1000 },
      );
      const events = await searchAuditEvents(db, query);
      const page = events.slice(0, query.count);
      const accesses = page.map((event) => ({
        name: 'access',
        part: accessParts(JSON.parse(event.json), event.breakGlass),
      }));
      const last = page.at(-1);
      const next =
        events.length > query.count && last !== undefined
          ? [{ name: 'next', valueString: cursorText(last.recorded, last.id) }]
          : [];
      return {
        status: 200,
        interaction: 'operation',
        body: {
          kind: 'resource',
          resource: { resourceType: 'Parameters', parameter: [...accesses, ...next] },
        },
      };
    },
  };
}

function requireOwnerOrAuditor(ctx: RequestContext, patientId: string): void {
  const { principal } = ctx;
  if (principal.kind === 'open-development' || principal.kind === 'system') return;
  if (principal.kind === 'user') {
    if (principal.roles.some((role) => AUDITOR_ROLES.has(role))) return;
    const own = principal.fhirUser?.match(/(?:^|\/)Patient\/([^/]+)$/)?.[1] ?? principal.patient;
    if (principal.roles.includes('patient') && own === patientId) return;
  }
  throw new FhirError('forbidden', [
    {
      severity: 'error',
      code: 'forbidden',
      diagnostics: 'Only the patient and auditors may see who accessed this record',
    },
  ]);
}

/** One access as Parameters parts, read from the stored AuditEvent. */
function accessParts(event: unknown, breakGlass: boolean): Record<string, unknown>[] {
  const parts: Record<string, unknown>[] = [];
  if (!isRecord(event)) return parts;
  if (typeof event.recorded === 'string') parts.push({ name: 'when', valueInstant: event.recorded });
  const agents = Array.isArray(event.agent) ? event.agent.filter(isRecord) : [];
  const requestor = agents.find((agent) => agent.requestor === true);
  const who = requestor !== undefined && isRecord(requestor.who) ? requestor.who : undefined;
  if (who !== undefined) parts.push({ name: 'who', valueReference: who });
  for (const role of Array.isArray(requestor?.role) ? requestor.role : []) {
    const coding = isRecord(role) && Array.isArray(role.coding) ? role.coding.find(isRecord) : undefined;
    if (coding?.system === CONCORDIA_ROLE) parts.push({ name: 'role', valueCoding: coding });
  }
  const organization = agents.find((agent) => isRecord(agent.type) && agent.type.code === 'PROV');
  if (organization !== undefined && isRecord(organization.who))
    parts.push({ name: 'organization', valueReference: organization.who });
  const subtypes = Array.isArray(event.subtype) ? event.subtype.filter(isRecord) : [];
  const what = subtypes.map((subtype) => String(subtype.code)).join(' ');
  if (what !== '') parts.push({ name: 'what', valueString: what });
  if (typeof event.action === 'string') parts.push({ name: 'action', valueCode: event.action });
  const purposes = Array.isArray(event.purposeOfEvent) ? event.purposeOfEvent.filter(isRecord) : [];
  for (const purpose of purposes) {
    const coding = Array.isArray(purpose.coding) ? purpose.coding.find(isRecord) : undefined;
    if (coding !== undefined) parts.push({ name: 'purpose', valueCoding: coding });
    if (typeof purpose.text === 'string')
      parts.push({ name: 'breakTheGlassReason', valueString: purpose.text });
  }
  parts.push({ name: 'breakTheGlass', valueBoolean: breakGlass });
  if (typeof event.outcome === 'string') parts.push({ name: 'outcome', valueCode: event.outcome });
  return parts;
}
