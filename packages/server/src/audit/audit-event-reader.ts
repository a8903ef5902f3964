/**
 * `GET /fhir/AuditEvent/{id}` and `GET /fhir/AuditEvent?…`, answered from the append-only audit
 * tables (stored-audit-events.ts: `audit_event` and the access log) rather than the resource
 * store: AuditEvents are read and searched, never written over REST (the router answers 405 to
 * every other method). The core checks the token's scopes as for any type
 * (`system/AuditEvent.rs`); on top of that only auditors read the audit:
 * administrators and system clients — a clinician's or patient's scopes reach AuditEvent through
 * the Patient compartment, but their view of the audit is the access report (access-report.ts).
 */
import { FhirError, fhirError } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import { bundleJson, type RawBundleEntry } from '../fhir/bundle-json.ts';
import type { FhirResponse } from '../fhir/interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../fhir/interaction-env.ts';
import type { ReadOnlyResourceType } from '../fhir/routes.ts';
import type { SqlExecutor } from '../store/database.ts';
import { AUDIT_EVENT_SEARCH_PARAMETERS, auditEventQuery, cursorText } from './audit-event-query.ts';
import { countAuditEvents, readStoredAuditEvent, searchAuditEvents } from './stored-audit-events.ts';

/** Roles whose holders may read the whole audit (besides system clients and internal principals). */
const AUDITOR_ROLES: ReadonlySet<string> = new Set(['administrator', 'auditor']);

/**
 * `settle`: resolves once this node's audit rows handed over so far are committed (the sink's
 * `flush`), so an auditor sees every request this node has answered, not only committed batches.
 */
export function auditEventResourceType(db: SqlExecutor, settle?: () => Promise<void>): ReadOnlyResourceType {
  return {
    type: 'AuditEvent',
    capability: {
      type: 'AuditEvent',
      profile: 'http://hl7.org/fhir/StructureDefinition/AuditEvent',
      documentation:
        'Append-only audit (IHE BALP). Read and search only; administrators and system clients with AuditEvent scopes. Patients see accesses to their record with Patient/$access-report.',
      interaction: [{ code: 'read' }, { code: 'search-type' }],
      readHistory: false,
      updateCreate: false,
      searchParam: AUDIT_EVENT_SEARCH_PARAMETERS.map(({ name, type }) => ({ name, type })),
    },
    async read(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
      requireAuditor(env.ctx);
      await settle?.();
      const id = request.id ?? '';
      const event = await readStoredAuditEvent(db, id);
      if (event === undefined) throw fhirError('not-found', 'not-found', `AuditEvent/${id} is not known`);
      return { status: 200, interaction: 'read', body: { kind: 'json', json: event.json } };
    },
    async search(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
      requireAuditor(env.ctx);
      await settle?.();
      const query = auditEventQuery(request.query, {
        defaultCount: env.config.defaultPageSize,
        maxCount: env.config.maxPageSize,
      });
      const [events, total] = await Promise.all([
        searchAuditEvents(db, query),
        query.accurateTotal ? countAuditEvents(db, query) : undefined,
      ]);
      const page = events.slice(0, query.count);
      const entries: RawBundleEntry[] = page.map((event) => ({
        fullUrl: `${env.fhirBase}/AuditEvent/${event.id}`,
        resourceJson: event.json,
        rest: { search: { mode: 'match' } },
      }));
      const self = `${env.fhirBase}/AuditEvent${queryString(request.query)}`;
      const link = [{ relation: 'self', url: self }];
      const last = page.at(-1);
      if (events.length > query.count && last !== undefined) {
        const kept = request.query.filter(([name]) => name !== '_cursor');
        const cursor = cursorText(last.recorded, last.id);
        link.push({
          relation: 'next',
          url: `${env.fhirBase}/AuditEvent${queryString([...kept, ['_cursor', cursor]])}`,
        });
      }
      const json = bundleJson(
        { type: 'searchset', ...(total !== undefined ? { total } : {}), link },
        entries,
      );
      return { status: 200, interaction: 'search-type', body: { kind: 'json', json } };
    },
  };
}

/** Internal principals, system clients and auditors; everyone else is refused (403). */
export function requireAuditor(ctx: RequestContext): void {
  const { principal } = ctx;
  if (principal.kind === 'open-development' || principal.kind === 'system' || principal.kind === 'client')
    return;
  if (principal.kind === 'user' && principal.roles.some((role) => AUDITOR_ROLES.has(role))) return;
  throw new FhirError('forbidden', [
    {
      severity: 'error',
      code: 'forbidden',
      diagnostics:
        'Only administrators and auditors read the audit; a patient sees accesses to their record with Patient/$access-report',
    },
  ]);
}

function queryString(query: readonly (readonly [string, string])[]): string {
  if (query.length === 0) return '';
  return `?${query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`;
}
