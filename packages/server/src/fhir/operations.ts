/**
 * Extended operations (http://hl7.org/fhir/R4/operations.html): `$name` at system, type or
 * instance level. Each operation is a value of this shape registered with the core; the router
 * finds it by name and level, the CapabilityStatement lists it, and its parameters are read from
 * the query string (GET) or a Parameters body (POST) by `operationParameters`.
 */
import { fhirError, isRecord } from '@concordia/fhir';
import type { FhirMethod } from './interaction.ts';
import type { InteractionHandler } from './interaction-env.ts';

/** Where an operation may be invoked: `*` for every resource type, or the listed types. */
export type OperationScope = '*' | readonly string[];

export interface FhirOperation {
  /** The name without `$` (`everything`, `reindex`). */
  name: string;
  /** The name the CapabilityStatement lists, when an IG fixes another (`patient-export`); default `name`. */
  capabilityName?: string;
  /** Canonical URL of its OperationDefinition, listed in the CapabilityStatement. */
  definition: string;
  system?: boolean;
  type?: OperationScope;
  instance?: OperationScope;
  /**
   * operations.html#request: an operation that changes nothing may also be invoked with GET; every
   * operation accepts POST. DELETE is for operations that manage a job they started.
   */
  methods: readonly FhirMethod[];
  /**
   * The handler decides access itself from `env.ctx` instead of the token scopes the core checks
   * for operations (access/authorize-interaction.ts): bulk `$export` narrows its types to the
   * token's scopes, and its status and files answer only the client that started it.
   */
  checksAccessItself?: boolean;
  handler: InteractionHandler;
}

export type OperationLevel = 'system' | 'type' | 'instance';

/** The operation `name` (without `$`) registered for `level` on `resourceType`, if any. */
export function findOperation(
  operations: readonly FhirOperation[],
  name: string,
  level: OperationLevel,
  resourceType?: string,
): FhirOperation | undefined {
  return operations.find((operation) => {
    if (operation.name !== name) return false;
    if (level === 'system') return operation.system === true;
    const scope = operation[level];
    if (scope === undefined) return false;
    return scope === '*' || (resourceType !== undefined && scope.includes(resourceType));
  });
}

/** One input parameter as sent: a query value, or a Parameters.parameter (primitive or resource). */
export interface OperationParameter {
  name: string;
  /** The primitive value as text (`valueString`, `valueCode`, `valueInstant`… or a query value). */
  value?: string;
  /** `resource` of a Parameters.parameter. */
  resource?: Record<string, unknown>;
  /** The whole Parameters.parameter, for operations that take complex values or parts. */
  raw?: Record<string, unknown>;
}

/**
 * The input parameters of an operation request (operations.html#request): the query string, plus
 * for POST the body, which must be a Parameters resource (or empty). Repeated names are kept.
 */
export function operationParameters(query: readonly [string, string][], body: unknown): OperationParameter[] {
  const parameters: OperationParameter[] = query.map(([name, value]) => ({ name, value }));
  if (body === undefined || body === null) return parameters;
  if (!isRecord(body) || body.resourceType !== 'Parameters') {
    throw fhirError('invalid', 'invalid', 'The body of an operation must be a Parameters resource', [
      'Parameters',
    ]);
  }
  const entries = body.parameter ?? [];
  if (!Array.isArray(entries)) {
    throw fhirError('invalid', 'structure', 'Parameters.parameter must be an array', [
      'Parameters.parameter',
    ]);
  }
  entries.forEach((entry: unknown, index) => {
    if (!isRecord(entry) || typeof entry.name !== 'string') {
      throw fhirError('invalid', 'required', 'Every Parameters.parameter needs a name', [
        `Parameters.parameter[${index}].name`,
      ]);
    }
    const value = primitiveValue(entry);
    parameters.push({
      name: entry.name,
      ...(value !== undefined ? { value } : {}),
      ...(isRecord(entry.resource) ? { resource: entry.resource } : {}),
      raw: entry,
    });
  });
  return parameters;
}

/** The `value[x]` of a parameter when it is a primitive, as text. */
function primitiveValue(parameter: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(parameter)) {
    if (!key.startsWith('value')) continue;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  }
  return undefined;
}

/** The single value of `name`, `undefined` when absent; 400 when given twice. */
export function singleParameter(parameters: readonly OperationParameter[], name: string): string | undefined {
  const values = parameters.filter((parameter) => parameter.name === name);
  if (values.length > 1) {
    throw fhirError('invalid', 'invalid', `Parameter '${name}' may be given only once`, [name]);
  }
  return values[0]?.value;
}
