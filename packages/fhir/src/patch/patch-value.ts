/**
 * Turns a FHIRPath Patch value into the JSON to write, checking it against the element it goes
 * to: "The type of the value must be correct for the place at which it will be added/inserted"
 * (fhirpatch.html). Anonymous types (backbone elements such as Patient.contact) arrive as nested
 * `part`s, one per child element, and are assembled here using the model's cardinalities.
 */

import { unprocessable } from './element-locator.ts';
import {
  childOwnerPath,
  derivesFrom,
  type ElementInfo,
  isPrimitiveType,
  resolveElementName,
} from './element-model.ts';
import type { PatchValue } from './fhirpath-patch-parameters.ts';
import { cloneJson, type JsonObject, type JsonValue, setOwn } from './json-value.ts';

export interface MaterializedValue {
  json: JsonValue;
  /** The type the value declared (`Date`, `HumanName`), which picks the key of a choice element. */
  typeSuffix: string | undefined;
  /** `_valueX` content: the id and extensions of a primitive value. */
  primitiveExtension: JsonValue | undefined;
}

/** http://hl7.org/fhir/R4/datatypes.html#primitive */
const PRIMITIVE_TYPES = new Set([
  'base64Binary',
  'boolean',
  'canonical',
  'code',
  'date',
  'dateTime',
  'decimal',
  'id',
  'instant',
  'integer',
  'markdown',
  'oid',
  'positiveInt',
  'string',
  'time',
  'unsignedInt',
  'uri',
  'url',
  'uuid',
  'xhtml',
]);

function isPrimitiveSuffix(suffix: string): boolean {
  return PRIMITIVE_TYPES.has(suffix.charAt(0).toLowerCase() + suffix.slice(1));
}

function wrongType(where: string, element: ElementInfo, given: string): never {
  const expected = element.choiceTypes ? element.choiceTypes.join(' | ') : element.type;
  unprocessable(where, `${element.path} takes ${expected}, not ${given}`, element.path);
}

function checkType(value: PatchValue, element: ElementInfo | undefined, where: string): void {
  if (element === undefined) return;
  const given = value.kind === 'typed' ? value.type : value.kind === 'resource' ? 'a resource' : 'parts';
  if (element.choiceTypes) {
    if (value.kind !== 'typed' || !element.choiceTypes.includes(value.type)) wrongType(where, element, given);
    return;
  }
  const type = element.type;
  if (type === undefined) return;
  if (type === 'Resource') {
    if (value.kind !== 'resource') wrongType(where, element, given);
    return;
  }
  if (isPrimitiveType(type)) {
    // Primitive types share one JSON form, and Parameters has no valueXhtml, so any primitive fits.
    if (value.kind !== 'typed' || !isPrimitiveSuffix(value.type)) wrongType(where, element, given);
    return;
  }
  if (value.kind === 'resource') wrongType(where, element, given);
  if (value.kind === 'typed') {
    const related = derivesFrom(value.type, type) || derivesFrom(type, value.type);
    if (isPrimitiveSuffix(value.type) || !related) wrongType(where, element, given);
  }
}

/** The JSON key for an element: the name itself, or name + type for a choice (`deceasedDateTime`). */
export function elementKey(
  element: ElementInfo | undefined,
  name: string,
  typeSuffix: string | undefined,
): string {
  return element?.choiceTypes && typeSuffix ? `${name}${typeSuffix}` : name;
}

function assemble(
  parts: readonly { name: string; value: PatchValue }[],
  ownerPath: string | undefined,
  where: string,
) {
  const grouped = new Map<string, { element: ElementInfo | undefined; values: MaterializedValue[] }>();
  for (const part of parts) {
    const resolved = ownerPath ? resolveElementName(ownerPath, part.name) : undefined;
    if (ownerPath && !resolved) unprocessable(where, `${ownerPath} has no element "${part.name}"`);
    const value = materialize(part.value, resolved?.element, `${where} (${part.name})`);
    const key = elementKey(
      resolved?.element,
      resolved?.name ?? part.name,
      resolved?.suffix ?? value.typeSuffix,
    );
    const group = grouped.get(key) ?? { element: resolved?.element, values: [] };
    group.values.push(value);
    grouped.set(key, group);
  }
  const object: JsonObject = {};
  for (const [key, { element, values }] of grouped) {
    if (element && !element.repeating && values.length > 1) {
      unprocessable(where, `${element.path} does not repeat, but ${values.length} values were given`);
    }
    const list = element?.repeating === true || values.length > 1;
    setOwn(object, key, list ? values.map((v) => v.json) : (values[0]?.json ?? null));
    if (values.some((v) => v.primitiveExtension !== undefined)) {
      const extensions = values.map((v) => v.primitiveExtension ?? null);
      setOwn(object, `_${key}`, list ? extensions : (extensions[0] ?? null));
    }
  }
  return object;
}

export function materialize(
  value: PatchValue,
  element: ElementInfo | undefined,
  where: string,
): MaterializedValue {
  checkType(value, element, where);
  switch (value.kind) {
    case 'typed':
      return {
        json: cloneJson(value.value),
        typeSuffix: value.type,
        primitiveExtension:
          value.primitiveExtension === undefined ? undefined : cloneJson(value.primitiveExtension),
      };
    case 'resource':
      return { json: cloneJson(value.value), typeSuffix: undefined, primitiveExtension: undefined };
    case 'parts': {
      const ownerPath = element ? childOwnerPath(element) : undefined;
      return {
        json: assemble(value.parts, ownerPath, where),
        typeSuffix: undefined,
        primitiveExtension: undefined,
      };
    }
  }
}
