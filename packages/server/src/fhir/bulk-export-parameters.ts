/**
 * The parameters of a bulk `$export` kick-off (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters),
 * read from the query or a Parameters body and checked before a job is queued: a value the
 * export could not honour is a 400 now, not a failed job later.
 */
import { fhirError, isRecord, isResourceType, parseSearch } from '@concordia/fhir';
import type { ExportLevel } from '../jobs/bulk-export-params.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import type { OperationParameter } from './operations.ts';
import { planSearch } from './search-plan.ts';

/** export.html#query-parameters: the formats a server must accept for NDJSON. */
const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

/** Search parameters that shape a result instead of selecting resources: no use in `_typeFilter`. */
const RESULT_PARAMETERS = new Set([
  '_sort',
  '_count',
  '_include',
  '_revinclude',
  '_summary',
  '_elements',
  '_total',
  '_cursor',
  '_type',
  '_contained',
  '_containedType',
]);

export function value(parameter: OperationParameter): string {
  if (parameter.value === undefined) {
    throw fhirError('invalid', 'invalid', `Parameter '${parameter.name}' needs a primitive value`, [
      parameter.name,
    ]);
  }
  return parameter.value;
}

function single(parameters: readonly OperationParameter[], name: string): string | undefined {
  const found = parameters.filter((parameter) => parameter.name === name);
  if (found.length > 1)
    throw fhirError('invalid', 'invalid', `Parameter '${name}' may be given only once`, [name]);
  const [first] = found;
  return first === undefined ? undefined : value(first);
}

export function outputFormat(parameters: readonly OperationParameter[]): void {
  const format = single(parameters, '_outputFormat');
  if (format !== undefined && !NDJSON_FORMATS.has(format.trim())) {
    throw fhirError(
      'invalid',
      'not-supported',
      `_outputFormat: "${format}" is not supported; use application/fhir+ndjson`,
      ['_outputFormat'],
    );
  }
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function sinceParameter(parameters: readonly OperationParameter[]): string | undefined {
  const since = single(parameters, '_since');
  if (since === undefined) return undefined;
  const time = Date.parse(since);
  if (!INSTANT.test(since) || Number.isNaN(time)) {
    throw fhirError('invalid', 'invalid', `_since: "${since}" is not an instant (send + as %2B in a URL)`, [
      '_since',
    ]);
  }
  if (time > Date.now())
    throw fhirError('invalid', 'invalid', `_since: ${since} is in the future`, ['_since']);
  return new Date(time).toISOString();
}

/** `_type` (repeatable, each a comma-separated list); undefined when absent. */
export function typeList(parameters: readonly OperationParameter[]): string[] | undefined {
  const lists = parameters.filter((parameter) => parameter.name === '_type');
  if (lists.length === 0) return undefined;
  const types = lists.flatMap((parameter) =>
    value(parameter)
      .split(',')
      .map((type) => type.trim()),
  );
  const bad = types.find((type) => !isResourceType(type));
  if (bad !== undefined)
    throw fhirError('invalid', 'invalid', `_type: "${bad}" is not a FHIR R4 resource type`, ['_type']);
  return [...new Set(types)];
}

/**
 * `_typeFilter=Type?query` (repeatable): the query is parsed like a search on Type, so every
 * criterion search supports works; a filter on a type outside `_type` is ignored (export.html).
 */
export function typeFilterQueries(
  parameters: readonly OperationParameter[],
  types: readonly string[] | undefined,
  env: InteractionEnv,
  unsupported: (name: string, reason: string) => void,
): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  const refused = new Set<string>();
  for (const parameter of parameters.filter((p) => p.name === '_typeFilter')) {
    for (const filter of splitTypeFilters(value(parameter))) {
      const question = filter.indexOf('?');
      const type = question === -1 ? filter : filter.slice(0, question);
      if (!isResourceType(type) || question === -1) {
        throw fhirError('invalid', 'invalid', `_typeFilter: "${filter}" is not Type?query`, ['_typeFilter']);
      }
      if (types !== undefined && !types.includes(type)) continue;
      const query = filter.slice(question + 1);
      const problem = typeFilterProblem(type, query, env);
      if (problem !== undefined) {
        unsupported('_typeFilter', `${filter}: ${problem}; the type is exported unfiltered`);
        refused.add(type);
        continue;
      }
      filters[type] = [...(filters[type] ?? []), query];
    }
  }
  // Leniently ignoring one filter of a type would narrow it; ignoring the type's filters widens it.
  for (const type of refused) delete filters[type];
  return filters;
}

/**
 * v2 allows several filters in one value, comma-separated; a comma inside a query is a value
 * list (`code=a,b`), so a new filter starts only where a comma is followed by `Type?`.
 */
function splitTypeFilters(text: string): string[] {
  return text
    .split(/,(?=[A-Z][A-Za-z]+\?)/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function typeFilterProblem(type: string, query: string, env: InteractionEnv): string | undefined {
  const pairs = [...new URLSearchParams(query)];
  const result = pairs.find(([name]) => RESULT_PARAMETERS.has(name.split(':')[0] ?? ''));
  if (result !== undefined) return `${result[0]} does not select resources`;
  const parsed = parseSearch({ resourceType: type, pairs }, env.searchParameters);
  const plan = planSearch(parsed.query, { ...env.config, maxPageSize: 1, defaultPageSize: 1 }, {});
  const [issue] = [...parsed.issues, ...plan.issues];
  return issue === undefined ? undefined : (issue.diagnostics ?? issue.code);
}

/**
 * The Patients whose compartments are exported: Group level, the Group's active Patient members,
 * narrowed by `patient`; Patient level, `patient` or every current Patient (undefined). A
 * `patient` that is not known (or not a member) adds nothing: the export holds no record of it.
 */
export async function patientsOf(
  level: ExportLevel,
  request: RoutedRequest,
  env: InteractionEnv,
  parameters: readonly OperationParameter[],
): Promise<string[] | undefined> {
  const asked = [...new Set(parameters.filter((p) => p.name === 'patient').map(patientReference))];
  if (level === 'system') {
    if (asked.length === 0) return undefined;
    throw fhirError('invalid', 'not-supported', 'patient applies to Patient and Group level exports', [
      'patient',
    ]);
  }
  if (level === 'patient') return asked.length === 0 ? undefined : asked;
  const members = await groupMembers(env, request.id ?? '');
  return asked.length === 0 ? members : asked.filter((id) => members.includes(id));
}

function patientReference(parameter: OperationParameter): string {
  const reference = isRecord(parameter.raw?.valueReference)
    ? parameter.raw.valueReference.reference
    : parameter.value;
  const match =
    typeof reference === 'string' ? /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference) : null;
  if (match?.[1] === undefined)
    throw fhirError('invalid', 'invalid', 'patient: expected a reference to a Patient (Patient/[id])', [
      'patient',
    ]);
  return match[1];
}

/** group.html: `member.entity` references; an inactive membership is not exported. */
async function groupMembers(env: InteractionEnv, id: string): Promise<string[]> {
  const group = await env.reads.read(env.ctx, 'Group', id);
  if (group === undefined) throw fhirError('not-found', 'not-found', `Group/${id} is not known`);
  if (group.deleted || group.json === undefined)
    throw fhirError('gone', 'deleted', `Group/${id} has been deleted`);
  const resource: unknown = JSON.parse(group.json);
  const members = isRecord(resource) && Array.isArray(resource.member) ? resource.member : [];
  const ids = members.flatMap((member: unknown) => {
    if (!isRecord(member) || member.inactive === true || !isRecord(member.entity)) return [];
    const reference = member.entity.reference;
    const match =
      typeof reference === 'string' ? /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference) : null;
    return match?.[1] === undefined ? [] : [match[1]];
  });
  return [...new Set(ids)];
}
