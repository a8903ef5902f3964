/**
 * Finds the JSON that a FHIRPath Patch `path` selects. fhirpath.js, asked not to resolve its
 * internal types, returns ResourceNodes that remember their parent node, the property name and
 * the array index, so each selected element can be traced to the JSON object that owns it and
 * changed in place. Nodes that are not part of the patched resource (literals, computed values)
 * are refused, which is also how fhirpatch.html's "SHALL NOT cross resources" rule is kept.
 */
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import { fhirError } from '../outcome.ts';
import { isRecord } from '../resource.ts';
import { choiceSuffix, elementInfo } from './element-model.ts';
import type { JsonObject } from './json-value.ts';

/** An element inside the resource: `owner[key]`, or `owner[key][index]` when it repeats. */
export interface ElementLocation {
  owner: Record<string, unknown>;
  /** Model path of the owner (`Patient`, `Patient.contact`, `HumanName`), when fhirpath knows it. */
  ownerPath: string | undefined;
  /** Element name without a choice suffix (`deceased`). */
  name: string;
  /** The JSON member that holds it (`deceasedBoolean`). */
  key: string;
  index: number | undefined;
}

/** What a path selected: the resource itself, or an element located in it. */
export type Selection =
  | { kind: 'root'; data: Record<string, unknown>; path: string }
  | { kind: 'element'; data: unknown; path: string | undefined; location: ElementLocation };

interface NodeLike {
  data: unknown;
  _data: unknown;
  path: unknown;
  propName: unknown;
  index: unknown;
  parentResNode: unknown;
}

function isNode(value: unknown): value is NodeLike {
  return isRecord(value) && 'parentResNode' in value && 'propName' in value && 'data' in value;
}

function rootOf(node: NodeLike): NodeLike {
  let current = node;
  while (isNode(current.parentResNode)) current = current.parentResNode;
  return current;
}

export function unprocessable(where: string, message: string, path?: string): never {
  throw fhirError(
    'unprocessable',
    'processing',
    `FHIRPath Patch ${where}: ${message}`,
    path ? [path] : undefined,
  );
}

function jsonKey(owner: Record<string, unknown>, ownerPath: string | undefined, name: string): string {
  if (Object.hasOwn(owner, name) || Object.hasOwn(owner, `_${name}`)) return name;
  const element = ownerPath ? elementInfo(ownerPath, name) : undefined;
  const key = element && Object.keys(owner).find((candidate) => choiceSuffix(element, name, candidate));
  return key ?? name;
}

function toSelection(node: unknown, root: JsonObject, where: string, path: string): Selection {
  if (!isNode(node) || rootOf(node).data !== root) {
    unprocessable(where, `"${path}" must select elements of the resource being patched`, path);
  }
  const nodePath = typeof node.path === 'string' ? node.path : undefined;
  const parent = node.parentResNode;
  if (!isNode(parent)) {
    if (!isRecord(node.data) || typeof node.data.resourceType !== 'string') {
      unprocessable(where, `"${path}" does not select an element`, path);
    }
    return { kind: 'root', data: node.data, path: node.data.resourceType };
  }
  if (!isRecord(parent.data) || typeof node.propName !== 'string') {
    unprocessable(where, `"${path}" selects an element that cannot be changed`, path);
  }
  const ownerPath = typeof parent.path === 'string' ? parent.path : undefined;
  const location: ElementLocation = {
    owner: parent.data,
    ownerPath,
    name: node.propName,
    key: jsonKey(parent.data, ownerPath, node.propName),
    index: typeof node.index === 'number' ? node.index : undefined,
  };
  // Read from the JSON, not from node.data: fhirpath wraps numbers in its own decimal type.
  const held = parent.data[location.key];
  const data = location.index === undefined ? held : Array.isArray(held) ? held[location.index] : undefined;
  return { kind: 'element', data, path: nodePath, location };
}

/** Evaluates `path` on `root` (the working copy) and locates every selected node. */
export function select(root: JsonObject, path: string, where: string): Selection[] {
  let evaluator: (resource: unknown) => unknown;
  try {
    evaluator = fhirpath.compile(path, r4model, { resolveInternalTypes: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw fhirError(
      'invalid',
      'invalid',
      `FHIRPath Patch ${where}: "${path}" is not valid FHIRPath: ${reason}`,
    );
  }
  let result: unknown;
  try {
    result = evaluator(root);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    unprocessable(where, `evaluating "${path}" failed: ${reason}`, path);
  }
  if (!Array.isArray(result)) unprocessable(where, `"${path}" did not evaluate to a collection`, path);
  return result.map((node: unknown) => toSelection(node, root, where, path));
}

/** fhirpatch.html: "The FHIRPath statement must return a single element". */
export function selectOne(root: JsonObject, path: string, where: string, purpose: string): Selection {
  const selected = select(root, path, where);
  const [only] = selected;
  if (only === undefined || selected.length > 1) {
    const found = selected.length === 0 ? 'no element' : `${selected.length} elements`;
    unprocessable(where, `"${path}" must select exactly one element ${purpose}, but selected ${found}`, path);
  }
  return only;
}
