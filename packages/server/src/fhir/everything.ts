/**
 * Patient `$everything` — http://hl7.org/fhir/R4/patient-operation-everything.html:
 * `GET|POST Patient/[id]/$everything` (one Patient's record) and `GET|POST Patient/$everything`
 * (every Patient's; with access control, the Patients the caller may see). The answer is a
 * searchset Bundle: the members of the Patient compartment (compartmentdefinition-patient) with
 * `search.mode = match`, and the resources of `SUPPORTING_TYPES` they refer to with
 * `search.mode = include`.
 *
 * The definition lets a server require paging "in order not to exhaust available memory"; we do:
 * a page holds at most `maxPageSize` members (the default when `_count` is absent, so a typical
 * record still comes in one Bundle) and `next` links carry keyset cursors, as in search.
 */
import { FhirError, fhirError, isResourceType, type OutcomeIssue } from '@concordia/fhir';
import type { EverythingQuery } from '../store/port.ts';
import type { FhirResponse } from './interaction.ts';
import type { CoreConfig, InteractionEnv, RoutedRequest } from './interaction-env.ts';
import {
  type FhirOperation,
  type OperationParameter,
  operationParameters,
  singleParameter,
} from './operations.ts';
import { preferToken } from './prefer.ts';
import { CURSOR_PARAMETER, searchBundleJson } from './search-bundle.ts';

export const PATIENT_EVERYTHING_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Patient-everything';

/**
 * Types outside the Patient compartment that its members refer to and that a record needs to be
 * read ("linked practitioners, medications, locations, organizations etc.", the definition).
 */
export const SUPPORTING_TYPES = [
  'Device',
  'Location',
  'Medication',
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Substance',
];

export const patientEverything: FhirOperation = {
  name: 'everything',
  definition: PATIENT_EVERYTHING_DEFINITION,
  type: ['Patient'],
  instance: ['Patient'],
  methods: ['GET', 'POST'],
  handler: everything,
};

async function everything(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const parameters = operationParameters(request.query, request.method === 'POST' ? request.body : undefined);
  const { query, issues } = everythingQuery(parameters, env.config);
  const [firstIssue] = issues;
  if (firstIssue !== undefined && preferToken(request.headers.prefer, 'handling') === 'strict') {
    throw new FhirError('invalid', firstIssue);
  }
  const patientId = request.id;
  if (patientId !== undefined) await requireCurrentPatient(env, patientId);
  const page = await env.reads.everything(env.ctx, {
    ...query,
    ...(patientId !== undefined ? { patientId } : {}),
  });
  const json = searchBundleJson({
    page,
    query: {},
    fhirBase: env.fhirBase,
    path: patientId === undefined ? 'Patient/$everything' : `Patient/${patientId}/$everything`,
    // Links repeat the operation as a GET, Parameters body included (operations.html#request).
    pairs: parameters.flatMap((parameter): [string, string][] =>
      parameter.value === undefined ? [] : [[parameter.name, parameter.value]],
    ),
    issues: issues.map((issue) => ({ ...issue, severity: 'warning' })),
  });
  return { status: 200, interaction: 'operation', body: { kind: 'json', json } };
}

async function requireCurrentPatient(env: InteractionEnv, id: string): Promise<void> {
  const patient = await env.reads.read(env.ctx, 'Patient', id);
  if (patient === undefined) throw fhirError('not-found', 'not-found', `Patient/${id} is not known`);
  // As a read of it would answer (http.html#read): the record existed and was deleted.
  if (patient.deleted) throw fhirError('gone', 'deleted', `Patient/${id} has been deleted`);
}

/** The door applies these to every response (http.html#parameters). */
const RESPONSE_PARAMETERS = new Set(['_format', '_pretty']);

// The shared `clinical-date` parameter covers 17 compartment types; Condition, MedicationRequest,
// Claim and most others have no care date in R4, so no range could be applied to a whole record.
const CARE_DATES =
  'care-date ranges are not supported: R4 names no care date for many compartment types (Condition, MedicationRequest, Claim…); the whole record is returned';

const NOT_SUPPORTED: Record<string, string> = {
  start: CARE_DATES,
  end: CARE_DATES,
  _offset: 'paging is by the opaque cursors of the Bundle links, not by offset',
};

const KNOWN = new Set(['_type', '_since', '_count', '_total', CURSOR_PARAMETER]);

/**
 * The operation's input parameters as a store query. Bad values fail with 400 whatever the
 * handling; parameters it cannot honour are issues, ignored under the default lenient handling
 * as search does (search.html#errors).
 */
function everythingQuery(
  parameters: readonly OperationParameter[],
  config: CoreConfig,
): { query: Omit<EverythingQuery, 'patientId'>; issues: OutcomeIssue[] } {
  const issues: OutcomeIssue[] = [];
  for (const { name } of parameters) {
    if (KNOWN.has(name) || RESPONSE_PARAMETERS.has(name)) continue;
    const reason = NOT_SUPPORTED[name] ?? 'not a parameter of Patient $everything';
    issues.push({
      severity: 'error',
      code: 'not-supported',
      diagnostics: `${name}: ${reason}`,
      expression: [name],
    });
  }
  const types = typesParameter(parameters);
  const since = instantParameter(parameters, '_since');
  const count = countParameter(parameters, config);
  const cursor = singleValue(parameters, CURSOR_PARAMETER);
  const total = totalParameter(parameters);
  return {
    query: {
      ...(types !== undefined ? { types } : {}),
      referencedTypes:
        types === undefined ? SUPPORTING_TYPES : SUPPORTING_TYPES.filter((t) => types.includes(t)),
      ...(since !== undefined ? { since } : {}),
      count,
      ...(cursor !== undefined ? { cursor } : {}),
      total,
    },
    issues,
  };
}

/** `_type` (0..*, each a comma-separated list): members and referenced resources alike. */
function typesParameter(parameters: readonly OperationParameter[]): string[] | undefined {
  const lists = parameters.filter((parameter) => parameter.name === '_type');
  if (lists.length === 0) return undefined;
  const types = lists.flatMap((parameter) =>
    requireValue(parameter)
      .split(',')
      .map((type) => type.trim()),
  );
  for (const type of types) {
    if (!isResourceType(type)) {
      throw fhirError('invalid', 'invalid', `_type: "${type}" is not a FHIR R4 resource type`, ['_type']);
    }
  }
  return [...new Set(types)];
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function instantParameter(parameters: readonly OperationParameter[], name: string): string | undefined {
  const value = singleValue(parameters, name);
  if (value === undefined) return undefined;
  if (!INSTANT.test(value) || Number.isNaN(Date.parse(value))) {
    throw fhirError(
      'invalid',
      'invalid',
      `${name}: "${value}" is not an instant (YYYY-MM-DDThh:mm:ss with Z or an offset; send + as %2B in a URL)`,
      [name],
    );
  }
  return value;
}

function countParameter(parameters: readonly OperationParameter[], config: CoreConfig): number {
  const value = singleValue(parameters, '_count');
  if (value === undefined) return config.maxPageSize;
  if (!/^\d+$/.test(value)) {
    throw fhirError('invalid', 'invalid', `_count: "${value}" is not a non-negative integer`, ['_count']);
  }
  return Math.min(Number(value), config.maxPageSize);
}

/** search.html#total: counted exactly for `accurate` and `estimate`; not counted by default. */
function totalParameter(parameters: readonly OperationParameter[]): boolean {
  const value = singleValue(parameters, '_total');
  if (value === undefined || value === 'none') return false;
  if (value === 'accurate' || value === 'estimate') return true;
  throw fhirError('invalid', 'invalid', `_total: "${value}" is not none, estimate or accurate`, ['_total']);
}

function singleValue(parameters: readonly OperationParameter[], name: string): string | undefined {
  const value = singleParameter(parameters, name);
  if (value === undefined && parameters.some((parameter) => parameter.name === name)) {
    throw fhirError('invalid', 'invalid', `Parameter '${name}' needs a primitive value`, [name]);
  }
  return value;
}

function requireValue(parameter: OperationParameter): string {
  if (parameter.value === undefined) {
    throw fhirError('invalid', 'invalid', `Parameter '${parameter.name}' needs a primitive value`, [
      parameter.name,
    ]);
  }
  return parameter.value;
}
