/**
 * What a bulk `$export` job is asked to do (https://hl7.org/fhir/uv/bulkdata/export.html), as the
 * kick-off (fhir/bulk-export.ts) checked it and the job (bulk-export-job.ts) runs it: stored in
 * `job.params`, so a job resumed on another node does exactly the same export. Also who started
 * it: only that client (or an administrator) may poll, download or cancel it.
 */
import { isRecord } from '@concordia/fhir';
import { type AccessSubject, parseAccessSubject } from '../access/access-subject.ts';
import type { JsonObject, JsonValue } from './job.ts';
import { type JobOwner, recordedJobOwner } from './job-owner.ts';

export const BULK_EXPORT_JOB = 'bulk-export';

export type ExportLevel = 'system' | 'patient' | 'group';

/** `includeAssociatedData` values this server supports (export.html#query-parameters). */
export const ASSOCIATED_DATA = ['LatestProvenanceResources', 'RelevantProvenanceResources'] as const;
export type AssociatedData = (typeof ASSOCIATED_DATA)[number];

function isAssociatedData(value: string): value is AssociatedData {
  return ASSOCIATED_DATA.some((known) => known === value);
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
  /** `includeAssociatedData`: the Provenance resources to write beside the exported ones; none: []. */
  associatedData: AssociatedData[];
  owner: JobOwner;
  /** Whose access decision the job reads under; absent: an internal or open-development request. */
  access?: AccessSubject;
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
    ...(params.associatedData.length > 0 ? { associatedData: params.associatedData } : {}),
    owner: { kind: params.owner.kind, id: params.owner.id },
    ...(params.access !== undefined ? { access: accessSubjectJson(params.access) } : {}),
    ignored: params.ignored,
  };
}

/** Reads back what `exportParamsJson` stored. @throws TypeError when the job was not written by it. */
export function exportParamsOf(json: JsonObject): ExportParams {
  const { level, request, since, typeFilters, groupId } = json;
  const owner = recordedJobOwner(json);
  if (level !== 'system' && level !== 'patient' && level !== 'group') {
    throw new TypeError(`bulk export job: unknown level ${String(level)}`);
  }
  if (typeof request !== 'string') throw new TypeError('bulk export job: no request');
  if (owner === undefined) throw new TypeError('bulk export job: no owner');
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
    associatedData: strings(json.associatedData).filter(isAssociatedData),
    owner,
    ...accessOf(json.access),
    ignored: strings(json.ignored),
  };
}

function strings(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function accessSubjectJson(subject: AccessSubject): JsonObject {
  return JSON.parse(JSON.stringify(subject));
}

function accessOf(value: JsonValue | undefined): { access?: AccessSubject } {
  const subject = parseAccessSubject(value);
  return subject === undefined ? {} : { access: subject };
}
