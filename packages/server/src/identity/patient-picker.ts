/**
 * The patients offered by the standalone-launch patient picker (SMART `launch/patient`), read
 * through the FHIR core like any other client. The relationship-based access decision will
 * narrow this list to the user's patients; until then it lists the first patients by name.
 * Also reads the records an EHR launch names, as the EHR that mints it (ehr-launch.ts).
 */
import { isRecord } from '@concordia/fhir';
import { type RequestContext, systemContext } from '../access/request-context.ts';
import type { FhirCore } from '../fhir/interaction.ts';
import type { PatientChoice } from './pages.ts';

export type PatientDirectory = {
  list(): Promise<PatientChoice[]>;
  exists(id: string): Promise<boolean>;
  /** `type/id` as `reader` may read it — through the access decision — or `undefined`. */
  readAs(
    reader: RequestContext,
    type: 'Patient' | 'Encounter',
    id: string,
  ): Promise<Record<string, unknown> | undefined>;
};

export function corePatientDirectory(core: FhirCore, limit = 50): PatientDirectory {
  const ctx = systemContext('patient-picker');
  return {
    async list() {
      const response = await core.handle(ctx, {
        method: 'GET',
        path: 'Patient',
        query: [
          ['_count', String(limit)],
          ['_sort', 'family'],
        ],
        headers: {},
      });
      const body = response.body;
      const bundle: unknown = body?.kind === 'json' ? JSON.parse(body.json) : body?.resource;
      if (!isRecord(bundle) || !Array.isArray(bundle.entry)) return [];
      return bundle.entry.flatMap((entry: unknown) => {
        const resource = isRecord(entry) ? entry.resource : undefined;
        if (!isRecord(resource) || typeof resource.id !== 'string') return [];
        return [{ id: resource.id, name: displayName(resource.name) }];
      });
    },
    async exists(id) {
      const response = await core.handle(ctx, {
        method: 'GET',
        path: `Patient/${id}`,
        query: [],
        headers: {},
      });
      return response.status === 200;
    },
    async readAs(reader, type, id) {
      const response = await core.handle(reader, {
        method: 'GET',
        path: `${type}/${id}`,
        query: [],
        headers: {},
      });
      if (response.status !== 200) return undefined;
      const body = response.body;
      const resource: unknown = body?.kind === 'json' ? JSON.parse(body.json) : body?.resource;
      return isRecord(resource) ? resource : undefined;
    },
  };
}

function displayName(names: unknown): string {
  const [name] = Array.isArray(names) ? names : [];
  if (!isRecord(name)) return '(no name)';
  const given = Array.isArray(name.given) ? name.given.filter((part) => typeof part === 'string') : [];
  const family = typeof name.family === 'string' ? name.family : '';
  return [...given, family].join(' ').trim() || '(no name)';
}
