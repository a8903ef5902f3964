/**
 * Parses a JSON Patch document (RFC 6902 §3-§4) into typed operations before anything is
 * applied, so a malformed document is answered 400 and never half-applied.
 * http://hl7.org/fhir/R4/http.html#patch
 */
import { fhirError } from '../outcome.ts';
import { isRecord } from '../resource.ts';
import { isJsonValue, type JsonValue } from './json-value.ts';

/** A JSON Pointer (RFC 6901) split into its unescaped reference tokens; `[]` is the whole document. */
export type JsonPointer = readonly string[];

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: JsonPointer; pointer: string; value: JsonValue }
  | { op: 'remove'; path: JsonPointer; pointer: string }
  | { op: 'move' | 'copy'; path: JsonPointer; pointer: string; from: JsonPointer; fromPointer: string };

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

function malformed(index: number, message: string): never {
  throw fhirError('invalid', 'invalid', `JSON Patch operation ${index}: ${message}`);
}

/** RFC 6901 §3-§4: `~1` is `/`, `~0` is `~`, and no other escape exists. */
export function parseJsonPointer(pointer: string): JsonPointer | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  const tokens = pointer.slice(1).split('/');
  if (tokens.some((token) => /~(?![01])/.test(token))) return undefined;
  return tokens.map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function pointerMember(operation: Record<string, unknown>, member: 'path' | 'from', index: number) {
  const raw = operation[member];
  if (typeof raw !== 'string') malformed(index, `"${member}" must be a JSON Pointer string`);
  const tokens = parseJsonPointer(raw);
  if (!tokens) malformed(index, `"${member}" ${JSON.stringify(raw)} is not a JSON Pointer (RFC 6901)`);
  return { raw, tokens };
}

function parseOperation(candidate: unknown, index: number): JsonPatchOperation {
  if (!isRecord(candidate)) malformed(index, 'must be an object');
  const op = candidate.op;
  if (typeof op !== 'string' || !OPS.has(op)) {
    malformed(index, `"op" must be one of add, remove, replace, move, copy, test`);
  }
  const { raw: pointer, tokens: path } = pointerMember(candidate, 'path', index);
  switch (op) {
    case 'add':
    case 'replace':
    case 'test': {
      // §4.1: "value" is required, and `null` is a legitimate value, so presence is what counts.
      if (!Object.hasOwn(candidate, 'value')) malformed(index, `"${op}" requires a "value" member`);
      const value = candidate.value;
      if (!isJsonValue(value)) malformed(index, '"value" must be plain JSON');
      return { op, path, pointer, value };
    }
    case 'remove':
      return { op, path, pointer };
    default: {
      const { raw: fromPointer, tokens: from } = pointerMember(candidate, 'from', index);
      return { op: op === 'move' ? 'move' : 'copy', path, pointer, from, fromPointer };
    }
  }
}

export function parseJsonPatch(document: unknown): JsonPatchOperation[] {
  if (!Array.isArray(document)) {
    throw fhirError(
      'invalid',
      'invalid',
      'A JSON Patch document must be an array of operations (RFC 6902 §3)',
    );
  }
  return document.map((candidate: unknown, index) => parseOperation(candidate, index));
}
