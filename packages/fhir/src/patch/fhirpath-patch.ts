/**
 * FHIRPath Patch (http://hl7.org/fhir/R4/fhirpatch.html) for the patch interaction
 * (http.html#patch). Operations run in order on a copy of the resource; the first failure aborts
 * the whole patch and the input is never mutated.
 *
 * Errors: a malformed Parameters resource or an unparsable path → FhirError 'invalid' (400); an
 * operation that cannot be applied (no or several matches, wrong value type, index out of range,
 * a changed resourceType/id) → 'unprocessable' (422), naming the operation index.
 */
import { fhirError } from '../outcome.ts';
import type { FhirResource } from '../resource.ts';
import { type ElementLocation, type Selection, select, selectOne, unprocessable } from './element-locator.ts';
import { type ElementInfo, resolveElementName } from './element-model.ts';
import { type FhirPathPatchOperation, parseFhirPathPatch } from './fhirpath-patch-parameters.ts';
import { isJsonObject, type JsonObject, setOwn } from './json-value.ts';
import { assertSameIdentity } from './patch-identity.ts';
import { type ListLocation, locateList, spliceList } from './patch-list.ts';
import { elementKey, type MaterializedValue, materialize } from './patch-value.ts';

function elementOf(location: ElementLocation): ElementInfo | undefined {
  return location.ownerPath ? resolveElementName(location.ownerPath, location.name)?.element : undefined;
}

function setValue(owner: Record<string, unknown>, key: string, value: MaterializedValue): void {
  setOwn(owner, key, value.json);
  if (value.primitiveExtension !== undefined) setOwn(owner, `_${key}`, value.primitiveExtension);
}

/** fhirpatch.html add: append to a list, or set a single element "as long as [it does] not already exist". */
function add(root: JsonObject, op: Extract<FhirPathPatchOperation, { type: 'add' }>, where: string): void {
  const target = selectOne(root, op.path, where, 'to add to');
  if (!isJsonObject(target.data))
    unprocessable(where, `"${op.path}" selects a primitive; cannot add "${op.name}" to it`);
  const owner = target.data;
  const resolved = target.path ? resolveElementName(target.path, op.name) : undefined;
  if (target.path && !resolved) unprocessable(where, `${target.path} has no element "${op.name}"`, op.path);
  const value = materialize(op.value, resolved?.element, where);
  const element = resolved?.element;
  const key = elementKey(element, resolved?.name ?? op.name, resolved?.suffix ?? value.typeSuffix);
  const list = owner[key];
  if (element?.repeating || Array.isArray(list)) {
    const location: ListLocation = { owner, key, element, list: Array.isArray(list) ? list : [] };
    spliceList(location, location.list.length, 0, value);
    return;
  }
  const taken = Object.keys(owner).find((existing) => {
    if (existing === key || existing === `_${key}`) return true;
    // Any type of a choice counts: `deceasedBoolean` is there when adding `deceasedDateTime`.
    const other = element?.choiceTypes && target.path ? resolveElementName(target.path, existing) : undefined;
    return other?.element.path === element?.path && other !== undefined;
  });
  if (taken !== undefined) {
    unprocessable(where, `${op.path} already has "${taken}"; use replace to change it`, op.path);
  }
  setValue(owner, key, value);
}

function insert(
  root: JsonObject,
  op: Extract<FhirPathPatchOperation, { type: 'insert' }>,
  where: string,
): void {
  const location = locateList(root, op.path, where);
  const value = materialize(op.value, location.element, where);
  if (op.index > location.list.length) {
    unprocessable(
      where,
      `index ${op.index} is beyond the end of ${op.path} (${location.list.length} items)`,
      op.path,
    );
  }
  spliceList(location, op.index, 0, value);
}

function remove(
  root: JsonObject,
  op: Extract<FhirPathPatchOperation, { type: 'delete' }>,
  where: string,
): void {
  const selected = select(root, op.path, where);
  // fhirpatch.html: delete the element "if found"; only a single element can be deleted.
  if (selected.length === 0) return;
  const [target] = selected;
  if (target === undefined || selected.length > 1) {
    unprocessable(
      where,
      `"${op.path}" selected ${selected.length} elements; only one can be deleted`,
      op.path,
    );
  }
  const { owner, key, index } = elementTarget(target, where, op.path, 'deleted');
  const list = owner[key];
  if (index !== undefined && Array.isArray(list)) {
    spliceList({ owner, key, element: undefined, list }, index, 1);
  } else {
    delete owner[key];
    delete owner[`_${key}`];
  }
}

function replace(
  root: JsonObject,
  op: Extract<FhirPathPatchOperation, { type: 'replace' }>,
  where: string,
): void {
  const target = selectOne(root, op.path, where, 'to replace');
  const location = elementTarget(target, where, op.path, 'replaced');
  const { owner, key, index } = location;
  const element = elementOf(location);
  const value = materialize(op.value, element, where);
  const list = owner[key];
  if (index !== undefined && Array.isArray(list)) {
    list[index] = value.json;
    const extensions = owner[`_${key}`];
    if (value.primitiveExtension !== undefined && Array.isArray(extensions))
      extensions[index] = value.primitiveExtension;
    return;
  }
  // A choice element may change type (`deceasedBoolean` → `deceasedDateTime`), and so its key.
  const newKey = elementKey(element, location.name, value.typeSuffix);
  if (newKey !== key) {
    delete owner[key];
    delete owner[`_${key}`];
  }
  setValue(owner, newKey, value);
}

function move(root: JsonObject, op: Extract<FhirPathPatchOperation, { type: 'move' }>, where: string): void {
  const location = locateList(root, op.path, where);
  const length = location.list.length;
  if (op.source >= length || op.destination >= length) {
    unprocessable(
      where,
      `source ${op.source} and destination ${op.destination} must be below ${length}`,
      op.path,
    );
  }
  const [moved] = spliceList(location, op.source, 1);
  if (moved) spliceList(location, op.destination, 0, moved);
}

function elementTarget(target: Selection, where: string, path: string, verb: string): ElementLocation {
  if (target.kind === 'root') unprocessable(where, `the resource itself cannot be ${verb}`, path);
  return target.location;
}

/** Deleting the last child leaves `{}` or `[]`, which FHIR JSON does not allow (json.html). */
function pruneEmpty(value: unknown): boolean {
  if (Array.isArray(value)) {
    for (let i = value.length - 1; i >= 0; i--)
      if (pruneEmpty(value[i]) && value.length > 0) value.splice(i, 1);
    return value.length === 0;
  }
  if (typeof value !== 'object' || value === null) return false;
  const record: Record<string, unknown> = Object(value);
  for (const key of Object.keys(record)) if (pruneEmpty(record[key])) delete record[key];
  return Object.keys(record).length === 0;
}

/** Applies a FHIRPath Patch Parameters resource to a copy of `resource`. */
export function applyFhirPathPatch(resource: FhirResource, parameters: unknown): FhirResource {
  const operations = parseFhirPathPatch(parameters);
  const copy: unknown = JSON.parse(JSON.stringify(resource));
  if (!isJsonObject(copy))
    throw fhirError('internal', 'exception', 'The resource to patch is not plain JSON');
  for (const [index, operation] of operations.entries()) {
    const where = `operation ${index} (${operation.type} ${operation.path})`;
    switch (operation.type) {
      case 'add':
        add(copy, operation, where);
        break;
      case 'insert':
        insert(copy, operation, where);
        break;
      case 'delete':
        remove(copy, operation, where);
        break;
      case 'replace':
        replace(copy, operation, where);
        break;
      case 'move':
        move(copy, operation, where);
        break;
    }
  }
  pruneEmpty(copy);
  return assertSameIdentity(resource, copy, 'FHIRPath Patch');
}
