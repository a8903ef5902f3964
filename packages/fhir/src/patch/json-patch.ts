/**
 * JSON Patch (RFC 6902) for the FHIR patch interaction (http://hl7.org/fhir/R4/http.html#patch).
 *
 * Hand-written rather than delegated to `fast-json-patch`: each failure needs its own FHIR answer
 * (400 for a malformed document, 422 for a failed `test` or a path that does not resolve), with
 * the operation index and pointer in the diagnostics; RFC details that library accepts loosely
 * (array indexes with leading zeros, `move` into its own child, `-` outside `add`) are rejected;
 * and prototype-named keys are plain data here. The whole algorithm is the ~100 lines below.
 */
import { FhirError, fhirError } from '../outcome.ts';
import type { FhirResource } from '../resource.ts';
import { type JsonPatchOperation, type JsonPointer, parseJsonPatch } from './json-patch-document.ts';
import { cloneJson, isJsonObject, type JsonValue, jsonEqual, setOwn } from './json-value.ts';
import { assertSameIdentity } from './patch-identity.ts';

type Container = JsonValue[] | { [key: string]: JsonValue };

class PatchConflict extends Error {}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function resolve(document: JsonValue, path: JsonPointer): JsonValue | undefined {
  let node: JsonValue | undefined = document;
  for (const token of path) {
    if (Array.isArray(node)) {
      node = ARRAY_INDEX.test(token) ? node[Number(token)] : undefined;
    } else if (node !== null && typeof node === 'object') {
      node = Object.hasOwn(node, token) ? node[token] : undefined;
    } else {
      return undefined;
    }
    if (node === undefined) return undefined;
  }
  return node;
}

/** The container that holds the last token of `path`, which must exist (RFC 6902 §4.1). */
function parentOf(document: JsonValue, path: JsonPointer): { container: Container; token: string } {
  const parent = resolve(document, path.slice(0, -1));
  const token = path.at(-1);
  if (parent === undefined || parent === null || typeof parent !== 'object' || token === undefined) {
    throw new PatchConflict('its parent does not exist or is not an object or array');
  }
  return { container: parent, token };
}

function arrayIndex(list: JsonValue[], token: string, allowEnd: boolean): number {
  if (!ARRAY_INDEX.test(token)) throw new PatchConflict(`"${token}" is not an array index`);
  const index = Number(token);
  if (index > list.length || (index === list.length && !allowEnd)) {
    throw new PatchConflict(`index ${index} is out of bounds (length ${list.length})`);
  }
  return index;
}

function add(document: JsonValue, path: JsonPointer, value: JsonValue): JsonValue {
  if (path.length === 0) return value;
  const { container, token } = parentOf(document, path);
  if (Array.isArray(container)) {
    const index = token === '-' ? container.length : arrayIndex(container, token, true);
    container.splice(index, 0, value);
  } else {
    setOwn(container, token, value);
  }
  return document;
}

function remove(document: JsonValue, path: JsonPointer): JsonValue {
  if (path.length === 0) throw new PatchConflict('the whole resource cannot be removed');
  const { container, token } = parentOf(document, path);
  if (Array.isArray(container)) {
    container.splice(arrayIndex(container, token, false), 1);
  } else if (Object.hasOwn(container, token)) {
    delete container[token];
  } else {
    throw new PatchConflict('no value exists there');
  }
  return document;
}

/** §4.3: like remove-then-add, but in place so the member keeps its position in the object. */
function replace(document: JsonValue, path: JsonPointer, value: JsonValue): JsonValue {
  existing(document, path, 'target');
  if (path.length === 0) return value;
  const { container, token } = parentOf(document, path);
  if (Array.isArray(container)) container[arrayIndex(container, token, false)] = value;
  else setOwn(container, token, value);
  return document;
}

function existing(document: JsonValue, path: JsonPointer, role: string): JsonValue {
  const value = resolve(document, path);
  if (value === undefined) throw new PatchConflict(`no value exists at the ${role} location`);
  return value;
}

function isProperPrefix(prefix: JsonPointer, path: JsonPointer): boolean {
  return prefix.length < path.length && prefix.every((token, i) => path[i] === token);
}

function applyOperation(document: JsonValue, operation: JsonPatchOperation): JsonValue {
  switch (operation.op) {
    case 'add':
      return add(document, operation.path, cloneJson(operation.value));
    case 'remove':
      return remove(document, operation.path);
    case 'replace':
      return replace(document, operation.path, cloneJson(operation.value));
    case 'move': {
      // §4.4: a location cannot be moved into one of its children.
      if (isProperPrefix(operation.from, operation.path)) {
        throw new PatchConflict('"from" is a proper prefix of "path"');
      }
      const value = existing(document, operation.from, '"from"');
      return add(remove(document, operation.from), operation.path, value);
    }
    case 'copy':
      return add(document, operation.path, cloneJson(existing(document, operation.from, '"from"')));
    case 'test':
      if (!jsonEqual(existing(document, operation.path, 'target'), operation.value)) {
        throw new PatchConflict('the value there is not equal to "value"');
      }
      return document;
  }
}

/**
 * Applies a JSON Patch document to a copy of `resource`; the input is never mutated.
 * Malformed document → FhirError 'invalid' (400); a failed `test`, a path that does not resolve,
 * or a change of resourceType/id → 'unprocessable' (422), as http.html#patch asks.
 */
export function applyJsonPatch(resource: FhirResource, operations: unknown): FhirResource {
  const parsed = parseJsonPatch(operations);
  // The round trip both deep-copies and drops `undefined` members a caller may have left in.
  const copy: unknown = JSON.parse(JSON.stringify(resource));
  if (!isJsonObject(copy))
    throw fhirError('internal', 'exception', 'The resource to patch is not plain JSON');
  let document: JsonValue = copy;
  for (const [index, operation] of parsed.entries()) {
    try {
      document = applyOperation(document, operation);
    } catch (error) {
      if (!(error instanceof PatchConflict)) throw error;
      const verb = operation.op === 'test' ? 'test failed' : 'cannot be applied';
      throw new FhirError('unprocessable', {
        severity: 'error',
        code: 'processing',
        diagnostics: `JSON Patch operation ${index} (${operation.op} ${operation.pointer}) ${verb}: ${error.message}`,
      });
    }
  }
  return assertSameIdentity(resource, document, 'JSON Patch');
}
