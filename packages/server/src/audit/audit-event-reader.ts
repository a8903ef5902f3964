/**
 * `GET /fhir/AuditEvent/{id}` and `GET /fhir/AuditEvent?…`, answered from the append-only
 * `audit_event` table rather than the resource store: AuditEvents are read and searched, never
 * written over REST (the router answers 405 to every other method). The core checks the token's
 * scopes as for any type (`system/AuditEvent.rs`); on top of that only auditors read the audit:
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
import { readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import {
  AUDIT_EVENT_SEARCH_PARAMETERS,
  auditEventQuery,
  cursorText,
  whereClause,
} from './audit-event-query.ts';

/** Roles whose holders may read the whole audit (besides system clients and internal principals). */
const AUDITOR_ROLES: ReadonlySet<string> = new Set(['administrator', 'auditor']);

export function auditEventResourceType(db: SqlExecutor): ReadOnlyResourceType {
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
      const id = request.id ?? '';
      const [row] = await db.query(sql`select content::text as content from audit_event where id = ${id}`);
      if (row === undefined) throw fhirError('not-found', 'not-found', `AuditEvent/${id} is not known`);
      return { status: 200, interaction: 'read', body: { kind: 'json', json: readString(row, 'content') } };
    },
    async search(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
      requireAuditor(env.ctx);
      const query = auditEventQuery(request.query, {
        defaultCount: env.config.defaultPageSize,
        maxCount: env.config.maxPageSize,
      });
      const keyset =
        query.before === undefined
          ? sql`true`
          : sql`(recorded, id) < (${query.before.recorded}::timestamptz, ${query.before.id})`;
      const rows = await db.query(
        sql`select id, recorded, content::text as content from audit_event
          where ${whereClause(query.conditions)} and ${keyset}
          order by recorded desc, id desc limit ${query.count + 1}`,
      );
      const page = rows.slice(0, query.count);
      const entries: RawBundleEntry[] = page.map((row) => ({
        fullUrl: `${env.fhirBase}/AuditEvent/${readString(row, 'id')}`,
        resourceJson: readString(row, 'content'),
        rest: { search: { mode: 'match' } },
      }));
      const self = `${env.fhirBase}/AuditEvent${queryString(request.query)}`;
      const link = [{ relation: 'self', url: self }];
      const last = page.at(-1);
      if (rows.length > query.count && last !== undefined) {
        const kept = request.query.filter(([name]) => name !== '_cursor');
        const cursor = cursorText(readString(last, 'recorded'), readString(last, 'id'));
        link.push({
          relation: 'next',
          url: `${env.fhirBase}/AuditEvent${queryString([...kept, ['_cursor', cursor]])}`,
        });
      }
      const json = bundleJson({ type: 'searchset', link }, entries);
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
