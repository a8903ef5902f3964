/**
 * `$validate` — http://hl7.org/fhir/R4/resource-operation-validate.html: `[type]/$validate` and
 * `[type]/[id]/$validate`, with `resource` (the body may also be the resource itself), `mode`
 * (create | update | delete) and `profile`. The answer is always an OperationOutcome with 200,
 * invalid or not ("the operation returns … 200 OK whether or not the resource is valid"); 4xx is
 * for a request that cannot be validated at all.
 */
import { fhirError, isRecord, type OperationOutcome, type OutcomeIssue } from '@concordia/fhir';
import type { FhirResponse } from '../interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../interaction-env.ts';
import {
  type FhirOperation,
  type OperationParameter,
  operationParameters,
  singleParameter,
} from '../operations.ts';
import type { ValidationService } from './validation-service.ts';

export const VALIDATE_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Resource-validate';

const MODES = ['create', 'update', 'delete'] as const;
type Mode = (typeof MODES)[number];

export function validateOperation(validation: ValidationService): FhirOperation {
  return {
    name: 'validate',
    definition: VALIDATE_DEFINITION,
    type: '*',
    instance: '*',
    methods: ['POST'],
    handler: (request, env) => validate(validation, request, env),
  };
}

/** The body is a Parameters with `resource`, or the resource to validate itself (the spec allows both). */
function parametersOf(request: RoutedRequest): { parameters: OperationParameter[]; resource: unknown } {
  const body = request.body;
  if (isRecord(body) && body.resourceType === 'Parameters' && request.resourceType !== 'Parameters') {
    const parameters = operationParameters(request.query, body);
    return { parameters, resource: parameters.find((p) => p.name === 'resource')?.resource };
  }
  return { parameters: operationParameters(request.query, undefined), resource: body };
}

function modeOf(parameters: OperationParameter[]): Mode | undefined {
  const mode = singleParameter(parameters, 'mode');
  if (mode === undefined) return undefined;
  const known = MODES.find((m) => m === mode);
  if (known === undefined)
    throw fhirError('invalid', 'value', `mode must be one of ${MODES.join(', ')}, not "${mode}"`, ['mode']);
  return known;
}

async function validate(
  validation: ValidationService,
  request: RoutedRequest,
  env: InteractionEnv,
): Promise<FhirResponse> {
  const { parameters, resource } = parametersOf(request);
  const mode = modeOf(parameters);
  const profile = singleParameter(parameters, 'profile');
  const type = request.resourceType ?? '';
  const issues: OutcomeIssue[] = [];
  if (mode === 'delete') {
    // Deleting is always allowed here: no rule refuses a delete (access is decided by the core).
    if (request.id === undefined)
      throw fhirError('invalid', 'required', 'mode=delete needs an instance: [type]/[id]/$validate', [
        'mode',
      ]);
    const current = await env.reads.read(env.ctx, type, request.id);
    if (current === undefined || current.deleted)
      issues.push({
        severity: 'warning',
        code: 'not-found',
        diagnostics: `${type}/${request.id} does not exist`,
      });
    return answer(issues);
  }
  if (!isRecord(resource))
    throw fhirError(
      'invalid',
      'required',
      'Give the resource to validate as the body or as the "resource" parameter',
      ['resource'],
    );
  if (resource.resourceType !== type) {
    issues.push({
      severity: 'error',
      code: 'invalid',
      diagnostics: `The resource is a ${String(resource.resourceType)}, not a ${type}`,
      expression: ['resourceType'],
    });
    return answer(issues);
  }
  if (mode === 'update' || request.id !== undefined) {
    const id = request.id;
    if (id !== undefined && resource.id !== id) {
      issues.push({
        severity: 'error',
        code: 'invalid',
        diagnostics: `An update of ${type}/${id} must carry id "${id}"`,
        expression: [`${type}.id`],
      });
    } else if (mode === 'update' && resource.id === undefined) {
      issues.push({
        severity: 'error',
        code: 'required',
        diagnostics: 'An update needs the resource id',
        expression: [`${type}.id`],
      });
    }
  }
  const profiles = [
    ...(validation.config.profilesByType[type] ?? []),
    ...(profile === undefined ? [] : [profile]),
  ];
  if (profile !== undefined && !validation.registry.has(profile)) {
    throw fhirError('invalid', 'not-supported', `The profile ${profile} is not known to this server`, [
      'profile',
    ]);
  }
  issues.push(...(await validation.validate(resource, profiles)));
  return answer(issues);
}

function answer(issues: OutcomeIssue[]): FhirResponse {
  // operationoutcome.html: an outcome with no issue states that all is well.
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue:
      issues.length > 0
        ? issues
        : [{ severity: 'information', code: 'informational', diagnostics: 'No issues found' }],
  };
  return { status: 200, interaction: 'operation', body: { kind: 'resource', resource: outcome } };
}
