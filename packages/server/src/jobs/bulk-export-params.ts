/**
 * What a bulk `$export` job is asked to do (https://hl7.org/fhir/uv/bulkdata/export.html), as the
 * kick-off (fhir/bulk-export.ts) checked it and the job (bulk-export-job.ts) runs it: stored in
 * `job.params`, so a job resumed on another node does exactly the same export. Also who started
 * it: only that client (or an administrator) may poll, download or cancel it.
 */
import { isRecord } from '@concordia/fhir';
import type { Principal } from '../access/request-context.ts';
import type { JsonObject, JsonValue } from './job.ts';

export const BULK_EXPORT_JOB = 'bulk-export';

export type ExportLevel = 'system' | 'patient' | 'group';

export interface ExportOwner {
  kind: Principal['kind'];
  id: string;
}

export interface ExportParams {
  level: ExportLevel;
  /** The kick-off request URL, echoed in the manifest (`request`). */
  request: string;
  /** The resource types exported, in this order, one set of files each. */
  types: string[];
  /** `_since`: only resources changed after this instant. */
  since?: string;
  /** `_typeFilter` queries (`status=active&code=…`) per type; a type without any is exported whole. */
  typeFilters: Record<string, string[]>;
  /**
   * Patient level and Group level: the Patients whose compartments are exported (Group members,
   * `patient`); absent: every current Patient's.
   */
  patients?: string[];
  groupId?: string;
  /** `_elements`: only these top-level elements (plus mandatory ones), tagged SUBSETTED. */
  elements?: string[];
  owner: ExportOwner;
  /** Parameters ignored under `Prefer: handling=lenient`, reported in the manifest's `error`. */
  ignored: string[];
}

export function exportParamsJson(params: ExportParams): JsonObject {
  return {
    level: params.level,
    request: params.request,
    types: params.types,
    ...(params.since !== undefined ? { since: params.since } : {}),
    typeFilters: params.typeFilters,
    ...(params.patients !== undefined ? { patients: params.patients } : {}),
    ...(params.groupId !== undefined ? { groupId: params.groupId } : {}),
    ...(params.elements !== undefined ? { elements: params.elements } : {}),
    owner: { kind: params.owner.kind, id: params.owner.id },
    ignored: params.ignored,
  };
}

/** Reads back what `exportParamsJson` stored. @throws TypeError when the job was not written by it. */
export function exportParamsOf(json: JsonObject): ExportParams {
  const { level, request, since, typeFilters, groupId, owner } = json;
  if (level !== 'system' && level !== 'patient' && level !== 'group') {
    throw new TypeError(`bulk export job: unknown level ${String(level)}`);
  }
  if (typeof request !== 'string') throw new TypeError('bulk export job: no request');
  if (!isRecord(owner) || typeof owner.id !== 'string' || !isPrincipalKind(owner.kind)) {
    throw new TypeError('bulk export job: no owner');
  }
  const filters: Record<string, string[]> = {};
  if (isRecord(typeFilters)) {
    for (const [type, queries] of Object.entries(typeFilters)) filters[type] = strings(queries);
  }
  return {
    level,
    request,
    types: strings(json.types),
    ...(typeof since === 'string' ? { since } : {}),
    typeFilters: filters,
    ...(Array.isArray(json.patients) ? { patients: strings(json.patients) } : {}),
    ...(typeof groupId === 'string' ? { groupId } : {}),
    ...(Array.isArray(json.elements) ? { elements: strings(json.elements) } : {}),
    owner: { kind: owner.kind, id: owner.id },
    ignored: strings(json.ignored),
  };
}

/** Who an export belongs to: the client (or user) of the token, or the open development principal. */
export function exportOwner(principal: Principal): ExportOwner {
  switch (principal.kind) {
    case 'open-development':
    case 'anonymous':
      return { kind: principal.kind, id: principal.kind };
    default:
      return { kind: principal.kind, id: principal.id };
  }
}

/**
 * Only the one who started an export may see or cancel it (export.html: the files hold
 * everything the client was allowed to read); administrators and the server itself may too.
 */
export function mayManageExport(principal: Principal, owner: ExportOwner): boolean {
  if (principal.kind === 'system') return true;
  if (principal.kind === 'user' && principal.roles.includes('administrator')) return true;
  const asker = exportOwner(principal);
  return asker.kind === owner.kind && asker.id === owner.id;
}

const PRINCIPAL_KINDS: readonly Principal['kind'][] = [
  'open-development',
  'anonymous',
  'system',
  'user',
  'client',
];

function isPrincipalKind(value: unknown): value is Principal['kind'] {
  return PRINCIPAL_KINDS.some((kind) => kind === value);
}

function strings(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
