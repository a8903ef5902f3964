/**
 * Structural validation of a resource against the R4 definitions: the rules of the JSON format
 * (http://hl7.org/fhir/R4/json.html) and of the datatypes (http://hl7.org/fhir/R4/datatypes.html),
 * plus cardinality. Invariants (FHIRPath constraints), terminology bindings and profiles are
 * separate steps. This runs on every write, so it is one walk of precomputed maps, no FHIRPath.
 */
import type { DefinitionsIndex } from '../definitions/definitions-index.ts';
import {
  choiceBaseName,
  choicePropertyName,
  type ElementSchema,
  lastSegment,
  type NodeSchema,
  type PropertySchema,
} from '../definitions/element-schema.ts';
import { r4DefinitionsIndex } from '../definitions/r4-definitions.ts';
import type { OutcomeIssue } from '../outcome.ts';
import { primitiveExtensionsKey } from '../primitive-extensions-key.ts';
import { isRecord, isValidId } from '../resource.ts';
import { checkPrimitiveValue } from './primitive-value.ts';
import { describeJson, IssueList } from './structure-issues.ts';

/** Far deeper than any real resource (Questionnaire items nest a few levels); keeps the walk off the stack limit. */
const MAX_DEPTH = 128;
const UNDERSCORE = 0x5f;

function isUpperCaseAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 0x41 && code <= 0x5a;
}

class StructureWalk {
  readonly issues = new IssueList();
  private readonly elementNode: NodeSchema | undefined;

  constructor(private readonly definitions: DefinitionsIndex) {
    // `_element` siblings carry an Element: `id` and `extension` (json.html#primitive).
    this.elementNode = definitions.nodes.get('Element');
  }

  resource(value: unknown, at: string | undefined, depth: number, expectedType = 'Resource'): void {
    if (!isRecord(value)) {
      this.issues.add('structure', at, `A resource must be a JSON object, not ${describeJson(value)}`);
      return;
    }
    const type = value.resourceType;
    if (typeof type !== 'string') {
      this.issues.add('required', at, 'A resource must have a string resourceType (json.html#resources)');
      return;
    }
    const node = this.definitions.nodes.get(type);
    const schema = this.definitions.types.get(type);
    if (node === undefined || schema === undefined || schema.kind !== 'resource' || schema.abstract) {
      this.issues.add('invalid', at, `Unknown resource type "${type}"`);
      return;
    }
    if (expectedType !== 'Resource' && expectedType !== type) {
      this.issues.add('structure', at, `Expected a ${expectedType} resource, found ${type}`);
    }
    this.object(value, node, at ?? type, depth, true);
  }

  private object(
    value: Record<string, unknown>,
    node: NodeSchema,
    path: string,
    depth: number,
    isResourceRoot: boolean,
  ): void {
    if (depth > MAX_DEPTH) {
      this.issues.add('structure', path, `Content is nested more than ${MAX_DEPTH} levels deep`);
      return;
    }
    let present = 0;
    // Most objects have no choice element: allocate the tracker only when one appears.
    let choicesSeen: Map<ElementSchema, string> | undefined;
    for (const key of Object.keys(value)) {
      const child = value[key];
      if (child === undefined) continue;
      present++;
      if (isResourceRoot && key === 'resourceType') continue;
      if (isResourceRoot && key === 'id') {
        this.resourceId(child, `${path}.id`);
        continue;
      }
      const isExtensionSibling = key.charCodeAt(0) === UNDERSCORE;
      const name = isExtensionSibling ? key.slice(1) : key;
      const property = node.properties.get(name);
      if (property === undefined) {
        this.unknownProperty(key, node, path);
        continue;
      }
      if (property.element.isChoice) {
        choicesSeen ??= new Map();
        this.noteChoice(choicesSeen, property, path);
      }
      if (isExtensionSibling) this.primitiveExtension(value, property, `${path}.${name}`, depth);
      else {
        // Only a repeating primitive needs its `_` sibling, to allow aligned nulls.
        const sibling = property.element.isArray ? value[primitiveExtensionsKey(key)] : undefined;
        this.property(child, property, sibling, `${path}.${key}`, depth);
      }
    }
    if (present === 0) this.issues.add('structure', path, 'Empty objects are not allowed (json.html)');
    for (const element of node.required) this.checkRequired(value, element, path);
  }

  private resourceId(value: unknown, expression: string): void {
    if (typeof value !== 'string') {
      this.issues.add(
        'structure',
        expression,
        `A resource id must be a JSON string, not ${describeJson(value)}`,
      );
    } else if (!isValidId(value)) {
      this.issues.add('value', expression, `${describeJson(value)} is not a valid id (datatypes.html#id)`);
    }
  }

  private unknownProperty(key: string, node: NodeSchema, path: string): void {
    const choice = node.choices.find((c) => {
      const base = choiceBaseName(c);
      return key.length > base.length && key.startsWith(base) && isUpperCaseAt(key, base.length);
    });
    const diagnostics = choice
      ? `"${key}" is not an allowed type for ${choice.path} (allowed: ${choice.types.join(', ')})`
      : `Unknown element "${key}" in ${node.path}`;
    this.issues.add('structure', `${path}.${key}`, diagnostics);
  }

  /** json.html#choice: only one of the `value[x]` variants may appear. */
  private noteChoice(seen: Map<ElementSchema, string>, property: PropertySchema, path: string): void {
    const previous = seen.get(property.element);
    if (previous === undefined) {
      seen.set(property.element, property.name);
    } else if (previous !== property.name) {
      const base = choiceBaseName(property.element);
      this.issues.add(
        'structure',
        `${path}.${base}`,
        `Only one variant of ${property.element.path} is allowed, found ${previous} and ${property.name}`,
      );
    }
  }

  private checkRequired(value: Record<string, unknown>, element: ElementSchema, path: string): void {
    const names = element.isChoice
      ? element.types.map((type) => choicePropertyName(choiceBaseName(element), type))
      : [lastSegment(element.path)];
    // An extension-only primitive (`_birthDate` without `birthDate`) is present (json.html#primitive).
    if (names.some((name) => value[name] !== undefined || value[primitiveExtensionsKey(name)] !== undefined))
      return;
    const name = element.isChoice ? choiceBaseName(element) : lastSegment(element.path);
    this.issues.add(
      'required',
      `${path}.${name}`,
      `${element.path} is required (minimum cardinality ${element.min})`,
    );
  }

  private isPrimitive(property: PropertySchema): boolean {
    return this.definitions.primitives.has(property.type);
  }

  private property(
    value: unknown,
    property: PropertySchema,
    sibling: unknown,
    at: string,
    depth: number,
  ): void {
    const element = property.element;
    if (!element.isArray) {
      if (Array.isArray(value)) {
        this.issues.add(
          'structure',
          at,
          `${element.path} has at most one value, so it must not be a JSON array`,
        );
      } else if (value === null) {
        this.issues.add('structure', at, 'null is not a valid value; omit the property instead (json.html)');
      } else {
        this.value(value, property, at, depth);
      }
      return;
    }
    if (!Array.isArray(value)) {
      this.issues.add(
        'structure',
        at,
        `${element.path} repeats, so it must be a JSON array (json.html#arrays)`,
      );
      return;
    }
    if (value.length === 0) {
      this.issues.add('structure', at, 'Empty arrays are not allowed (json.html)');
      return;
    }
    if (value.length > element.max) {
      this.issues.add(
        'structure',
        at,
        `${element.path} allows at most ${element.max} values, found ${value.length}`,
      );
    }
    const extensions = Array.isArray(sibling) && this.isPrimitive(property) ? sibling : undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null) {
        this.value(item, property, `${at}[${i}]`, depth);
      } else if (!isRecord(extensions?.[i])) {
        this.issues.add(
          'structure',
          `${at}[${i}]`,
          'null is only allowed in an array of primitives, when the matching _ array item has an extension (json.html#primitive)',
        );
      }
    }
  }

  private value(value: unknown, property: PropertySchema, at: string, depth: number): void {
    const primitive = this.definitions.primitives.get(property.type);
    if (primitive !== undefined) {
      checkPrimitiveValue(value, primitive, at, this.issues);
      return;
    }
    if (this.definitions.types.get(property.type)?.kind === 'resource') {
      this.resource(value, at, depth + 1, property.type);
      return;
    }
    if (!isRecord(value)) {
      this.issues.add(
        'structure',
        at,
        `A ${property.type} must be a JSON object, not ${describeJson(value)}`,
      );
      return;
    }
    const node = this.definitions.nodes.get(property.contentPath);
    if (node !== undefined) this.object(value, node, at, depth + 1, false);
  }

  /** `_birthDate: {…}` or `_given: [null, {…}]`: the id and extensions of primitive values (json.html#primitive). */
  private primitiveExtension(
    holder: Record<string, unknown>,
    property: PropertySchema,
    at: string,
    depth: number,
  ): void {
    const name = lastSegment(at);
    if (!this.isPrimitive(property)) {
      this.issues.add(
        'structure',
        at.replace(/[^.]*$/, `_${name}`),
        `"_${name}" is only allowed for primitive elements`,
      );
      return;
    }
    const extension = holder[primitiveExtensionsKey(name)];
    if (!property.element.isArray) {
      this.elementExtension(extension, at, depth);
      return;
    }
    if (!Array.isArray(extension) || extension.length === 0) {
      this.issues.add(
        'structure',
        at,
        `_${name} must be a non-empty JSON array, like ${name} (json.html#primitive)`,
      );
      return;
    }
    const values = holder[name];
    if (Array.isArray(values) && values.length !== extension.length) {
      this.issues.add(
        'structure',
        at,
        `${name} and _${name} must have the same number of items (json.html#primitive)`,
      );
    }
    for (let i = 0; i < extension.length; i++) {
      const item: unknown = extension[i];
      if (item !== null) this.elementExtension(item, `${at}[${i}]`, depth);
      // A null in both arrays is reported once, by the value array's check.
      else if (!Array.isArray(values) || values[i] === undefined) {
        this.issues.add('structure', `${at}[${i}]`, `Item ${i} has neither a value nor an extension`);
      }
    }
  }

  private elementExtension(value: unknown, at: string, depth: number): void {
    if (!isRecord(value)) {
      this.issues.add(
        'structure',
        at,
        `The _ sibling of a primitive must be a JSON object, not ${describeJson(value)}`,
      );
    } else if (this.elementNode !== undefined) {
      this.object(value, this.elementNode, at, depth + 1, false);
    }
  }
}

/**
 * Checks a parsed JSON value against the R4 structure of its resource type. Never throws on
 * bad input: every problem is an `error` issue located by a FHIRPath expression such as
 * `Patient.name[0].given[1]`. Resources inside (`contained`, `Bundle.entry.resource`,
 * `Parameters.parameter.resource`) are checked the same way.
 */
export function validateResourceStructure(
  value: unknown,
  definitions: DefinitionsIndex = r4DefinitionsIndex(),
): OutcomeIssue[] {
  const walk = new StructureWalk(definitions);
  walk.resource(value, undefined, 0);
  return walk.issues.issues;
}
