/**
 * Reads a FHIRPath Patch `Parameters` resource (http://hl7.org/fhir/R4/fhirpatch.html) into typed
 * operations. Everything structural is checked here, before any operation runs, so a malformed
 * document is a 400 and is never half-applied.
 */
import { fhirError } from '../outcome.ts';
import { isRecord } from '../resource.ts';
import { isJsonObject, isJsonValue, type JsonObject, type JsonValue } from './json-value.ts';

/** A value as the patch gives it: `valueX` (with X naming its type), a resource, or anonymous `part`s. */
export type PatchValue =
  | { kind: 'typed'; type: string; value: JsonValue; primitiveExtension: JsonValue | undefined }
  | { kind: 'resource'; value: JsonObject }
  | { kind: 'parts'; parts: PatchPart[] };

export interface PatchPart {
  name: string;
  value: PatchValue;
}

export type FhirPathPatchOperation =
  | { type: 'add'; path: string; name: string; value: PatchValue }
  | { type: 'insert'; path: string; index: number; value: PatchValue }
  | { type: 'delete'; path: string }
  | { type: 'replace'; path: string; value: PatchValue }
  | { type: 'move'; path: string; source: number; destination: number };

const OPERATION_TYPES = ['add', 'insert', 'delete', 'replace', 'move'] as const;
type OperationType = (typeof OPERATION_TYPES)[number];
const VALUE_KEY = /^value[A-Z][A-Za-z0-9]*$/;

function malformed(where: string, message: string): never {
  throw fhirError('invalid', 'invalid', `FHIRPath Patch ${where}: ${message}`);
}

/** A `Parameters.parameter` or a `part`: a name and exactly one of value[x], resource or part. */
function readValue(component: Record<string, unknown>, where: string): PatchValue {
  const valueKeys = Object.keys(component).filter((key) => VALUE_KEY.test(key));
  const hasResource = component.resource !== undefined;
  const hasParts = component.part !== undefined;
  if (valueKeys.length + (hasResource ? 1 : 0) + (hasParts ? 1 : 0) !== 1) {
    malformed(where, 'needs exactly one of value[x], resource or part');
  }
  const [key] = valueKeys;
  if (key !== undefined) {
    const value = component[key];
    const primitiveExtension = component[`_${key}`];
    if (
      !isJsonValue(value) ||
      value === null ||
      (primitiveExtension !== undefined && !isJsonValue(primitiveExtension))
    ) {
      malformed(where, `${key} must be plain JSON`);
    }
    return { kind: 'typed', type: key.slice('value'.length), value, primitiveExtension };
  }
  if (hasResource) {
    const resource = component.resource;
    if (!isJsonObject(resource) || typeof resource.resourceType !== 'string') {
      malformed(where, 'resource must be a FHIR resource');
    }
    return { kind: 'resource', value: resource };
  }
  return { kind: 'parts', parts: readParts(component.part, where) };
}

function readParts(candidate: unknown, where: string): PatchPart[] {
  if (!Array.isArray(candidate) || candidate.length === 0) malformed(where, 'part must be a non-empty array');
  return candidate.map((part: unknown, i) => {
    const here = `${where}.part[${i}]`;
    if (!isRecord(part) || typeof part.name !== 'string' || part.name === '') {
      malformed(here, 'needs a name');
    }
    return { name: part.name, value: readValue(part, `${here} (${part.name})`) };
  });
}

function isOperationType(value: unknown): value is OperationType {
  return OPERATION_TYPES.some((type) => type === value);
}

function typedPrimitive(parts: Map<string, PatchValue>, name: string, type: string, where: string) {
  const part = parts.get(name);
  if (part === undefined) return undefined;
  if (part.kind !== 'typed' || part.type !== type) malformed(where, `"${name}" must be a value${type}`);
  return part.value;
}

function requiredString(parts: Map<string, PatchValue>, name: string, where: string): string {
  const value = typedPrimitive(parts, name, 'String', where);
  if (typeof value !== 'string' || value.trim() === '')
    malformed(where, `"${name}" (valueString) is required`);
  return value;
}

function requiredIndex(parts: Map<string, PatchValue>, name: string, where: string): number {
  const value = typedPrimitive(parts, name, 'Integer', where);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    malformed(where, `"${name}" (valueInteger ≥ 0) is required`);
  }
  return value;
}

function requiredValue(parts: Map<string, PatchValue>, where: string): PatchValue {
  const value = parts.get('value');
  if (value === undefined) malformed(where, '"value" is required');
  return value;
}

function readOperation(parameter: unknown, index: number): FhirPathPatchOperation {
  const where = `operation ${index}`;
  if (!isRecord(parameter) || parameter.name !== 'operation') {
    malformed(where, 'every parameter must be named "operation"');
  }
  const parts = new Map<string, PatchValue>();
  for (const part of readParts(parameter.part, where)) {
    if (parts.has(part.name)) malformed(where, `"${part.name}" is given more than once`);
    parts.set(part.name, part.value);
  }
  const type = typedPrimitive(parts, 'type', 'Code', where);
  if (!isOperationType(type)) malformed(where, `"type" must be one of ${OPERATION_TYPES.join(', ')}`);
  const path = requiredString(parts, 'path', where);
  switch (type) {
    case 'add':
      return { type, path, name: requiredString(parts, 'name', where), value: requiredValue(parts, where) };
    case 'insert':
      return { type, path, index: requiredIndex(parts, 'index', where), value: requiredValue(parts, where) };
    case 'delete':
      return { type, path };
    case 'replace':
      return { type, path, value: requiredValue(parts, where) };
    case 'move':
      return {
        type,
        path,
        source: requiredIndex(parts, 'source', where),
        destination: requiredIndex(parts, 'destination', where),
      };
  }
}

export function parseFhirPathPatch(parameters: unknown): FhirPathPatchOperation[] {
  if (!isRecord(parameters) || parameters.resourceType !== 'Parameters') {
    throw fhirError('invalid', 'invalid', 'A FHIRPath Patch must be a Parameters resource (fhirpatch.html)');
  }
  const list = parameters.parameter ?? [];
  if (!Array.isArray(list)) malformed('document', 'Parameters.parameter must be an array');
  return list.map((parameter: unknown, index) => readOperation(parameter, index));
}
