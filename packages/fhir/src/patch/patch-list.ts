/**
 * Lists for FHIRPath Patch insert and move, whose `path` names "the collection" (fhirpatch.html)
 * rather than one element. A repeating primitive keeps its ids and extensions in a parallel
 * `_name` array (http://hl7.org/fhir/R4/json.html#primitive), which is kept aligned here.
 */
import { select, selectOne, unprocessable } from './element-locator.ts';
import { type ElementInfo, resolveElementName } from './element-model.ts';
import { isJsonObject, isJsonValue, type JsonObject, setOwn } from './json-value.ts';
import type { MaterializedValue } from './patch-value.ts';

export interface ListLocation {
  owner: Record<string, unknown>;
  key: string;
  element: ElementInfo | undefined;
  /** The current items; `[]` when the list does not exist yet. */
  list: unknown[];
}

const LAST_STEP = /^(.+)\.([A-Za-z][A-Za-z0-9]*)$/;

/** An empty list selects nothing, so its owner is found by evaluating the path without its last step. */
function locateEmptyList(root: JsonObject, path: string, where: string): ListLocation {
  const steps = LAST_STEP.exec(path);
  const parentPath = steps?.[1];
  const name = steps?.[2];
  if (parentPath === undefined || name === undefined) unprocessable(where, `"${path}" selects no list`, path);
  const parent = selectOne(root, parentPath, where, 'to hold the list');
  const element = parent.path ? resolveElementName(parent.path, name)?.element : undefined;
  if (!isJsonObject(parent.data) || !element?.repeating)
    unprocessable(where, `"${path}" is not a list`, path);
  return { owner: parent.data, key: name, element, list: [] };
}

export function locateList(root: JsonObject, path: string, where: string): ListLocation {
  const selected = select(root, path, where);
  const [first] = selected;
  if (first === undefined) return locateEmptyList(root, path, where);
  if (first.kind === 'root') unprocessable(where, `"${path}" selects the resource, not a list`, path);
  const { owner, key, ownerPath, name } = first.location;
  const list = owner[key];
  const sameList = selected.every(
    (item) => item.kind === 'element' && item.location.owner === owner && item.location.key === key,
  );
  if (!Array.isArray(list) || !sameList)
    unprocessable(where, `"${path}" must select the items of one list`, path);
  const element = ownerPath ? resolveElementName(ownerPath, name)?.element : undefined;
  return { owner, key, element, list };
}

/** Array.splice on the list and its `_key` twin; drops both when they end up empty. */
export function spliceList(
  location: ListLocation,
  start: number,
  deleteCount: number,
  ...items: MaterializedValue[]
): MaterializedValue[] {
  const { owner, key, list } = location;
  const twinKey = `_${key}`;
  const twin: unknown = owner[twinKey];
  const needsTwin = Array.isArray(twin) || items.some((item) => item.primitiveExtension !== undefined);
  const extensions: unknown[] = Array.isArray(twin) ? twin : [];
  while (needsTwin && extensions.length < list.length) extensions.push(null);

  const removed = list.splice(start, deleteCount, ...items.map((item) => item.json));
  const removedExtensions = needsTwin
    ? extensions.splice(start, deleteCount, ...items.map((item) => item.primitiveExtension ?? null))
    : [];
  setOwn(owner, key, list);
  if (needsTwin) setOwn(owner, twinKey, extensions);

  if (list.length === 0) delete owner[key];
  if (list.length === 0 || extensions.every((extension) => extension === null)) delete owner[twinKey];
  return removed.map((json, i): MaterializedValue => {
    const extension: unknown = removedExtensions[i];
    return {
      json: isJsonValue(json) ? json : null,
      typeSuffix: undefined,
      primitiveExtension: extension === null || !isJsonValue(extension) ? undefined : extension,
    };
  });
}
