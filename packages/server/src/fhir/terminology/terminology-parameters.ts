/**
 * Reading the input parameters of a terminology operation and writing its output Parameters
 * (http://hl7.org/fhir/R4/operations.html#request, #response). Inputs are checked against the
 * operation's R4 OperationDefinition: a name it does not declare, a 0..1 parameter given twice,
 * or a complex value (Coding, CodeableConcept, a resource) in the query string is a 400 naming
 * the parameter — the spec allows GET "only for primitive parameters".
 */
import { type FhirResource, fhirError, isRecord } from '@concordia/fhir';
import type { CodingInput } from '../../terminology/terminology-service.ts';
import type { FhirResponse } from '../interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../interaction-env.ts';
import { type OperationParameter, operationParameters } from '../operations.ts';
import {
  type InputParameterDefinition,
  inputParameters,
  type TerminologyOperationId,
} from './operation-definitions.ts';

/** The door applies these to every response (http.html#parameters). */
const RESPONSE_PARAMETERS = new Set(['_format', '_pretty']);

const PRIMITIVE = /^[a-z]/;

interface CheckedDefinition extends InputParameterDefinition {
  primitive: boolean;
}

/** Each operation's declared inputs by name, built once: this runs on every terminology request. */
const definitionsById = new Map<TerminologyOperationId, ReadonlyMap<string, CheckedDefinition>>();

function declaredInputs(id: TerminologyOperationId): ReadonlyMap<string, CheckedDefinition> {
  let byName = definitionsById.get(id);
  if (byName === undefined) {
    byName = new Map(
      inputParameters(id).map((definition) => [
        definition.name,
        { ...definition, primitive: definition.type !== undefined && PRIMITIVE.test(definition.type) },
      ]),
    );
    definitionsById.set(id, byName);
  }
  return byName;
}

/**
 * The request's input parameters, checked against OperationDefinition `id`. `unsupported` names
 * declared parameters this server does not implement, with the reason it answers (400, never a
 * silently ignored input that would change the result).
 */
export function terminologyParameters(
  id: TerminologyOperationId,
  request: RoutedRequest,
  unsupported: Readonly<Record<string, string>> = {},
): OperationParameter[] {
  const parameters = operationParameters(request.query, request.method === 'POST' ? request.body : undefined);
  const definitions = declaredInputs(id);
  const seen = new Map<string, number>();
  const checked: OperationParameter[] = [];
  for (const parameter of parameters) {
    if (RESPONSE_PARAMETERS.has(parameter.name)) continue;
    const definition = definitions.get(parameter.name);
    if (definition === undefined) {
      throw fhirError(
        'invalid',
        'not-supported',
        `${operationName(id)} has no parameter '${parameter.name}' (OperationDefinition/${id})`,
        [parameter.name],
      );
    }
    const reason = unsupported[parameter.name];
    if (reason !== undefined) {
      throw fhirError(
        'invalid',
        'not-supported',
        `${operationName(id)}: parameter '${parameter.name}' ${reason}`,
        [parameter.name],
      );
    }
    const count = (seen.get(parameter.name) ?? 0) + 1;
    seen.set(parameter.name, count);
    if (definition.max === '1' && count > 1) {
      throw fhirError(
        'invalid',
        'invalid',
        `${operationName(id)}: parameter '${parameter.name}' may be given only once`,
        [parameter.name],
      );
    }
    if (!definition.primitive && parameter.raw === undefined) {
      throw fhirError(
        'invalid',
        'invalid',
        `${operationName(id)}: parameter '${parameter.name}' is a ${definition.type ?? 'parameter with parts'}; send it in a Parameters body with POST (operations.html#request)`,
        [parameter.name],
      );
    }
    if (definition.primitive && parameter.value === undefined) {
      throw fhirError(
        'invalid',
        'invalid',
        `${operationName(id)}: parameter '${parameter.name}' needs a ${definition.type} value`,
        [parameter.name],
      );
    }
    checked.push(parameter);
  }
  return checked;
}

/** `$validate-code` for `CodeSystem-validate-code`: how the messages name the operation. */
function operationName(id: TerminologyOperationId): string {
  return `$${id.slice(id.indexOf('-') + 1)}`;
}

export function primitive(parameters: readonly OperationParameter[], name: string): string | undefined {
  return parameters.find((parameter) => parameter.name === name)?.value;
}

export function booleanParameter(
  parameters: readonly OperationParameter[],
  name: string,
): boolean | undefined {
  const value = primitive(parameters, name);
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw fhirError('invalid', 'invalid', `Parameter '${name}': "${value}" is not a boolean (true or false)`, [
    name,
  ]);
}

export function integerParameter(
  parameters: readonly OperationParameter[],
  name: string,
): number | undefined {
  const value = primitive(parameters, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) {
    throw fhirError('invalid', 'invalid', `Parameter '${name}': "${value}" is not a non-negative integer`, [
      name,
    ]);
  }
  return Number(value);
}

/** A Coding as sent (`valueCoding`); it must carry a code. */
export function codingParameter(
  parameters: readonly OperationParameter[],
  name: string,
): CodingInput | undefined {
  const raw = parameters.find((parameter) => parameter.name === name)?.raw;
  if (raw === undefined) return undefined;
  return codingInput(raw.valueCoding, name);
}

/** The codings of a CodeableConcept (`valueCodeableConcept`); at least one. */
export function codeableConceptParameter(
  parameters: readonly OperationParameter[],
  name: string,
): CodingInput[] | undefined {
  const raw = parameters.find((parameter) => parameter.name === name)?.raw;
  if (raw === undefined) return undefined;
  const concept = raw.valueCodeableConcept;
  const codings = isRecord(concept) && Array.isArray(concept.coding) ? concept.coding : [];
  if (codings.length === 0) {
    throw fhirError('invalid', 'required', `Parameter '${name}' needs a valueCodeableConcept with a coding`, [
      name,
    ]);
  }
  return codings.map((coding, index) => codingInput(coding, `${name}.coding[${index}]`));
}

function codingInput(value: unknown, where: string): CodingInput {
  if (!isRecord(value) || typeof value.code !== 'string' || value.code === '') {
    throw fhirError('invalid', 'required', `Parameter '${where}' needs a Coding with a code`, [where]);
  }
  return {
    code: value.code,
    ...(typeof value.system === 'string' ? { system: value.system } : {}),
    ...(typeof value.version === 'string' ? { version: value.version } : {}),
    ...(typeof value.display === 'string' ? { display: value.display } : {}),
  };
}

/** A resource parameter (`valueSet`, `codeSystem`), which must be of `resourceType`. */
export function resourceParameter(
  parameters: readonly OperationParameter[],
  name: string,
  resourceType: string,
): Record<string, unknown> | undefined {
  const parameter = parameters.find((candidate) => candidate.name === name);
  if (parameter === undefined) return undefined;
  if (parameter.resource?.resourceType !== resourceType) {
    throw fhirError('invalid', 'invalid', `Parameter '${name}' needs a ${resourceType} resource`, [name]);
  }
  return parameter.resource;
}

/** `url` with `|version` when a version is given (a canonical reference, references.html#canonical). */
export function versionedUrl(url: string, version: string | undefined): string {
  return version === undefined || url.includes('|') ? url : `${url}|${version}`;
}

export function missing(operation: string, what: string, expression: string[]): never {
  throw fhirError('invalid', 'required', `${operation} needs ${what}`, expression);
}

/** The stored resource an instance-level invocation names (`ValueSet/[id]/$expand`). */
export async function storedResource(
  env: InteractionEnv,
  resourceType: string,
  id: string,
): Promise<Record<string, unknown>> {
  const stored = await env.reads.read(env.ctx, resourceType, id);
  if (stored === undefined) throw fhirError('not-found', 'not-found', `${resourceType}/${id} is not known`);
  if (stored.deleted || stored.json === undefined) {
    throw fhirError('gone', 'deleted', `${resourceType}/${id} has been deleted`);
  }
  const resource: unknown = JSON.parse(stored.json);
  if (!isRecord(resource)) throw new Error(`${resourceType}/${id} is not stored as a JSON object`);
  return resource;
}

/** One output parameter (operations.html#response): a `value[x]`, a resource, or parts. */
export type ParameterOut = { name: string } & Record<string, unknown>;

export function codingValue(coding: CodingInput): Record<string, string> {
  return {
    ...(coding.system !== undefined ? { system: coding.system } : {}),
    ...(coding.version !== undefined ? { version: coding.version } : {}),
    code: coding.code,
    ...(coding.display !== undefined ? { display: coding.display } : {}),
  };
}

export function parametersResponse(parameter: readonly ParameterOut[]): FhirResponse {
  const resource: FhirResource = { resourceType: 'Parameters', parameter: [...parameter] };
  return { status: 200, interaction: 'operation', body: { kind: 'resource', resource } };
}

export function resourceResponse(resource: FhirResource): FhirResponse {
  return { status: 200, interaction: 'operation', body: { kind: 'resource', resource } };
}
