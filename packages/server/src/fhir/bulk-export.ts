/**
 * Bulk Data export kick-off — https://hl7.org/fhir/uv/bulkdata/export.html (v2.0.0):
 * `GET|POST [base]/$export` (every resource), `[base]/Patient/$export` (every Patient's
 * compartment) and `[base]/Group/[id]/$export` (the compartments of the Group's Patient members).
 * The request must ask for the asynchronous pattern (`Prefer: respond-async`) and name
 * `Accept: application/fhir+json`; the answer is 202 with `Content-Location` naming the status
 * URL (bulk-export-status.ts), and the work runs as a durable job (jobs/bulk-export-job.ts).
 *
 * The types exported are bounded by the token's scopes: without `_type`, the types it may read
 * and search; a `_type` it may not read is refused with 403 (SMART Backend Services).
 */
import {
  FhirError,
  fhirError,
  informationOutcome,
  type OutcomeIssue,
  parseElementsParameter,
  patientCompartmentDefinition,
} from '@concordia/fhir';
import { type AccessSubject, accessSubjectOf } from '../access/access-subject.ts';
import type { RequestContext } from '../access/request-context.ts';
import { decideScopes } from '../access/scope-decision.ts';
import {
  ASSOCIATED_DATA,
  type AssociatedData,
  BULK_EXPORT_JOB,
  type ExportLevel,
  exportParamsJson,
} from '../jobs/bulk-export-params.ts';
import type { JobQueue } from '../jobs/job.ts';
import { jobOwner } from '../jobs/job-owner.ts';
import {
  outputFormat,
  patientsOf,
  sinceParameter,
  typeFilterQueries,
  typeList,
  value,
} from './bulk-export-parameters.ts';
import { exportStatusUrl } from './bulk-export-status.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { type FhirOperation, type OperationParameter, operationParameters } from './operations.ts';
import { preferToken } from './prefer.ts';

const DEFINITIONS: Record<ExportLevel, string> = {
  system: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
  patient: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
  group: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
};

/** The names the Bulk Data CapabilityStatement lists them under (CapabilityStatement-bulk-data). */
const CAPABILITY_NAMES: Record<ExportLevel, string> = {
  system: 'export',
  patient: 'patient-export',
  group: 'group-export',
};

/** The three kick-off operations: system, Patient type and Group instance level. */
export function bulkExportOperations(jobs: JobQueue): FhirOperation[] {
  const operation = (level: ExportLevel, where: Partial<FhirOperation>): FhirOperation => ({
    name: 'export',
    capabilityName: CAPABILITY_NAMES[level],
    definition: DEFINITIONS[level],
    methods: ['GET', 'POST'],
    checksAccessItself: true,
    handler: (request, env) => kickOff(level, request, env, jobs),
    ...where,
  });
  return [
    operation('system', { system: true }),
    operation('patient', { type: ['Patient'] }),
    operation('group', { instance: ['Group'] }),
  ];
}

/** The door applies these to every response. */
const RESPONSE_PARAMETERS = new Set(['_format', '_pretty']);

async function kickOff(
  level: ExportLevel,
  request: RoutedRequest,
  env: InteractionEnv,
  jobs: JobQueue,
): Promise<FhirResponse> {
  const prefer = request.headers.prefer;
  if (!(prefer ?? '').split(/[,;]/).some((token) => token.trim() === 'respond-async')) {
    throw fhirError('invalid', 'required', 'Bulk export is asynchronous: send Prefer: respond-async');
  }
  // export.html#headers: the only format of the kick-off's OperationOutcome is FHIR JSON.
  if (!/(^|,)\s*application\/fhir\+json\s*(;|,|$)/i.test(request.headers.accept ?? '')) {
    throw fhirError('invalid', 'required', 'Bulk export needs Accept: application/fhir+json');
  }
  const lenient = preferToken(prefer, 'handling') === 'lenient';
  const parameters = operationParameters(request.query, request.method === 'POST' ? request.body : undefined);
  const issues: OutcomeIssue[] = [];
  const unsupported = (name: string, reason: string) =>
    issues.push({
      severity: 'error',
      code: 'not-supported',
      diagnostics: `${name}: ${reason}`,
      expression: [name],
    });

  for (const { name } of parameters) {
    if (KNOWN.has(name) || RESPONSE_PARAMETERS.has(name)) continue;
    unsupported(name, 'not a parameter of $export');
  }
  const associatedData = associatedDataOf(parameters, env.ctx, unsupported);
  outputFormat(parameters);
  const since = sinceParameter(parameters);
  const requestedTypes = typeList(parameters);
  const elements = parameters
    .filter((p) => p.name === '_elements')
    .flatMap((p) => parseElementsParameter(value(p)));
  const typeFilters = typeFilterQueries(parameters, requestedTypes, env, unsupported);
  const patients = await patientsOf(level, request, env, parameters);
  const types = authorizedTypes(
    env.ctx,
    requestedTypes ?? candidateTypes(level, env),
    requestedTypes !== undefined,
  );

  const [issue] = issues;
  if (issue !== undefined && !lenient) {
    throw new FhirError(
      'invalid',
      issues.map((i) => ({
        ...i,
        diagnostics: `${i.diagnostics} (send Prefer: handling=lenient to have it ignored)`,
      })),
    );
  }
  const job = await jobs.enqueue(
    BULK_EXPORT_JOB,
    exportParamsJson({
      level,
      request: kickOffUrl(env.fhirBase, request),
      types,
      ...(since !== undefined ? { since } : {}),
      typeFilters,
      ...(patients !== undefined ? { patients } : {}),
      ...(level === 'group' && request.id !== undefined ? { groupId: request.id } : {}),
      ...(elements.length > 0 ? { elements } : {}),
      associatedData,
      owner: jobOwner(env.ctx.principal),
      ...withAccessSubject(accessSubjectOf(env.ctx)),
      ignored: issues.map((i) => i.diagnostics ?? i.code),
    }),
  );
  return {
    status: 202,
    interaction: 'operation',
    headers: { contentLocation: exportStatusUrl(env.fhirBase, job.id) },
    body: {
      kind: 'resource',
      resource: informationOutcome(`Bulk export of ${types.length} resource types queued as job ${job.id}`),
    },
  };
}

const KNOWN = new Set([
  '_outputFormat',
  '_since',
  '_type',
  '_typeFilter',
  '_elements',
  'patient',
  'includeAssociatedData',
]);

/**
 * `includeAssociatedData` (export.html#query-parameters): comma-separated values, of which this
 * server supports the two Provenance ones; another (a `_`-prefixed custom one) is unsupported —
 * an error, or ignored and reported under `handling=lenient`. The Provenance resources are read
 * with the requester's access, so a token that may not read Provenance may not ask for them.
 */
function associatedDataOf(
  parameters: readonly OperationParameter[],
  ctx: RequestContext,
  unsupported: (name: string, reason: string) => void,
): AssociatedData[] {
  const values = parameters
    .filter((parameter) => parameter.name === 'includeAssociatedData')
    .flatMap((parameter) => value(parameter).split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const known: AssociatedData[] = [];
  for (const item of values) {
    const match = ASSOCIATED_DATA.find((candidate) => candidate === item);
    if (match === undefined) unsupported('includeAssociatedData', `${item} is not supported`);
    else if (!known.includes(match)) known.push(match);
  }
  if (known.length > 0) authorizedTypes(ctx, ['Provenance'], true, 'includeAssociatedData');
  return known;
}

/** Without `_type`: every type at system level; the Patient compartment's types at Patient and Group level. */
function candidateTypes(level: ExportLevel, env: InteractionEnv): string[] {
  if (level === 'system') return env.searchParameters.resourceTypesOf('Resource');
  return patientCompartmentDefinition().memberTypes().sort();
}

/**
 * The types the token may read and search. A `_type` outside them is refused; without `_type`
 * the export narrows to them (export.html: "resources … the client is authorized to access").
 */
function authorizedTypes(
  ctx: RequestContext,
  types: string[],
  explicit: boolean,
  parameter = '_type',
): string[] {
  const { principal } = ctx;
  if (principal.kind !== 'user' && principal.kind !== 'client') return types;
  const allowed: string[] = [];
  for (const resourceType of types) {
    const refusal = (['r', 's'] as const)
      .map((permission) => decideScopes(principal, { permission, resourceType }))
      .find((decision) => !decision.allowed);
    if (refusal === undefined) allowed.push(resourceType);
    else if (explicit && !refusal.allowed)
      throw fhirError('forbidden', 'forbidden', `${parameter}: ${refusal.reason}`, [parameter]);
  }
  if (allowed.length === 0) {
    throw fhirError(
      'forbidden',
      'forbidden',
      'The access token grants read and search (rs) on none of the types to export',
    );
  }
  return allowed;
}

function kickOffUrl(fhirBase: string, request: RoutedRequest): string {
  const query = new URLSearchParams(request.query).toString();
  return `${fhirBase}/${request.path}${query === '' ? '' : `?${query}`}`;
}

/** The job reads as the requester (access/access-subject.ts): it exports what they may read. */
function withAccessSubject(subject: AccessSubject | undefined): { access?: AccessSubject } {
  return subject === undefined ? {} : { access: subject };
}
