/**
 * What the standalone-launch pickers offer (SMART `launch/patient`, `launch/encounter`): the
 * Patients the signed-in user may read, then the chosen patient's Encounters. Both are FHIR
 * searches run through the core *as that user* (launch-reader.ts), so the access decision's row
 * filter narrows them exactly as it narrows the user's own searches — a family doctor sees their
 * declared patients, a specialist the patients of their episodes — and paging and totals stay
 * true. A page goes forward by the search's own opaque cursor (search-bundle.ts).
 * Also reads the records a launch names, as the user or the EHR that names them (ehr-launch.ts).
 */
import { isRecord } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { FhirCore } from '../fhir/interaction.ts';
import type { PatientChoice } from './pages.ts';

/** One page of a picker: its choices, and the cursor of the next page when there is one. */
export interface PickerPage {
  choices: PatientChoice[];
  next?: string;
}

export interface PickerQuery {
  /** Matched as FHIR `name` (starts with, any part of any name: search.html#string). */
  name?: string;
  /** A `next` of an earlier page. */
  cursor?: string;
}

export type PatientDirectory = {
  /** The Patients `reader` may read, by family name. */
  patients(reader: RequestContext, query: PickerQuery): Promise<PickerPage>;
  /** The Encounters of `patient` that `reader` may read, the most recent first. */
  encounters(reader: RequestContext, patient: string, query: PickerQuery): Promise<PickerPage>;
  /** `type/id` as `reader` may read it — through the access decision — or `undefined`. */
  readAs(
    reader: RequestContext,
    type: 'Patient' | 'Encounter',
    id: string,
  ): Promise<Record<string, unknown> | undefined>;
};

const CURSOR = '_cursor';

export function corePatientDirectory(core: FhirCore, pageSize = 50): PatientDirectory {
  async function search(
    reader: RequestContext,
    path: string,
    query: [string, string][],
    cursor: string | undefined,
  ): Promise<{ resources: Record<string, unknown>[]; next?: string }> {
    const pairs: [string, string][] = [...query, ['_count', String(pageSize)]];
    if (cursor !== undefined) pairs.push([CURSOR, cursor]);
    const response = await core.handle(reader, { method: 'GET', path, query: pairs, headers: {} });
    if (response.status !== 200) return { resources: [] };
    const bundle = bodyOf(response.body);
    if (!isRecord(bundle)) return { resources: [] };
    const entries: unknown[] = Array.isArray(bundle.entry) ? bundle.entry : [];
    const resources = entries.flatMap((entry) => {
      const resource = isRecord(entry) ? entry.resource : undefined;
      return isRecord(resource) &&
        typeof resource.id === 'string' &&
        resource.resourceType !== 'OperationOutcome'
        ? [resource]
        : [];
    });
    const next = nextCursor(bundle.link);
    return { resources, ...(next !== undefined ? { next } : {}) };
  }

  return {
    async patients(reader, { name, cursor }) {
      const filter: [string, string][] = name === undefined || name === '' ? [] : [['name', name]];
      const found = await search(reader, 'Patient', [...filter, ['_sort', 'family']], cursor);
      return {
        choices: found.resources.map((patient) => ({
          id: String(patient.id),
          name: displayName(patient.name),
        })),
        ...(found.next !== undefined ? { next: found.next } : {}),
      };
    },
    async encounters(reader, patient, { cursor }) {
      const found = await search(
        reader,
        'Encounter',
        [
          ['subject', `Patient/${patient}`],
          ['_sort', '-date'],
        ],
        cursor,
      );
      return {
        choices: found.resources.map((encounter) => ({
          id: String(encounter.id),
          name: encounterLabel(encounter),
        })),
        ...(found.next !== undefined ? { next: found.next } : {}),
      };
    },
    async readAs(reader, type, id) {
      const response = await core.handle(reader, {
        method: 'GET',
        path: `${type}/${id}`,
        query: [],
        headers: {},
      });
      if (response.status !== 200) return undefined;
      const resource = bodyOf(response.body);
      return isRecord(resource) ? resource : undefined;
    },
  };
}

function bodyOf(body: Awaited<ReturnType<FhirCore['handle']>>['body']): unknown {
  if (body === undefined) return undefined;
  if (body.kind === 'json') return JSON.parse(body.json);
  return body.kind === 'resource' ? body.resource : undefined;
}

/** The `_cursor` of the Bundle's `next` link. */
function nextCursor(links: unknown): string | undefined {
  if (!Array.isArray(links)) return undefined;
  const next = links.find((link: unknown) => isRecord(link) && link.relation === 'next');
  if (!isRecord(next) || typeof next.url !== 'string' || !URL.canParse(next.url)) return undefined;
  return new URL(next.url).searchParams.get(CURSOR) ?? undefined;
}

/** A Patient's first name as people say it: given names, then family. */
export function displayName(names: unknown): string {
  const [name] = Array.isArray(names) ? names : [];
  if (!isRecord(name)) return '(no name)';
  const given = Array.isArray(name.given) ? name.given.filter((part) => typeof part === 'string') : [];
  const family = typeof name.family === 'string' ? name.family : '';
  return [...given, family].join(' ').trim() || '(no name)';
}

/** `2026-11-02 · AMB · in-progress`: when, what kind, and where it stands. */
function encounterLabel(encounter: Record<string, unknown>): string {
  const period = isRecord(encounter.period) ? encounter.period : {};
  const start = typeof period.start === 'string' ? period.start.slice(0, 10) : undefined;
  const kind = isRecord(encounter.class) ? (encounter.class.display ?? encounter.class.code) : undefined;
  const type =
    Array.isArray(encounter.type) && isRecord(encounter.type[0]) ? encounter.type[0].text : undefined;
  const parts = [start, typeof type === 'string' ? type : kind, encounter.status];
  return (
    parts.filter((part): part is string => typeof part === 'string' && part !== '').join(' · ') ||
    '(encounter)'
  );
}
