/**
 * The compact, precomputed index of the R4 types: every element by path, and for every JSON
 * object position (a type's root or a backbone element) the map of allowed property names, so
 * validating a resource is a walk of map lookups.
 */
import {
  choiceBaseName,
  choicePropertyName,
  type ElementSchema,
  lastSegment,
  type NodeSchema,
  type PrimitiveRule,
  type PropertySchema,
  type TypeSchema,
} from './element-schema.ts';
import { primitiveRule } from './primitive-rules.ts';
import type { RawElement, RawStructureDefinition } from './structure-definition-reader.ts';

export interface DefinitionsIndex {
  readonly types: ReadonlyMap<string, TypeSchema>;
  /** Every element of every type by definition path: `Questionnaire.item.item`. */
  readonly elements: ReadonlyMap<string, ElementSchema>;
  /** Allowed JSON properties by position: `Patient`, `Patient.contact`, `HumanName`. */
  readonly nodes: ReadonlyMap<string, NodeSchema>;
  readonly primitives: ReadonlyMap<string, PrimitiveRule>;
  /** Concrete resource types, sorted. */
  readonly resourceTypes: readonly string[];
}

interface MutableNode {
  path: string;
  properties: Map<string, PropertySchema>;
  required: ElementSchema[];
  choices: ElementSchema[];
}

function parseMax(max: string): number {
  return max === '*' ? Number.POSITIVE_INFINITY : Number.parseInt(max, 10);
}

function parentPath(path: string): string {
  return path.slice(0, path.lastIndexOf('.'));
}

function toElementSchema(raw: RawElement, hasChildren: boolean, isRoot: boolean): ElementSchema {
  return {
    path: raw.path,
    min: raw.min,
    max: parseMax(raw.max),
    isArray: parseMax(raw.baseMax) > 1,
    types: raw.types,
    ...(raw.contentReference === undefined ? {} : { contentReference: raw.contentReference }),
    isChoice: raw.path.endsWith('[x]'),
    isBackbone: hasChildren && !isRoot,
  };
}

function propertiesOf(element: ElementSchema): PropertySchema[] {
  if (element.isChoice) {
    const base = choiceBaseName(element);
    return element.types.map((type) => ({
      name: choicePropertyName(base, type),
      element,
      type,
      contentPath: type,
    }));
  }
  const name = lastSegment(element.path);
  if (element.isBackbone) {
    return [{ name, element, type: element.types[0] ?? 'BackboneElement', contentPath: element.path }];
  }
  if (element.contentReference !== undefined) {
    return [
      { name, element, type: 'BackboneElement', contentPath: element.contentReference.replace(/^#/, '') },
    ];
  }
  const type = element.types[0];
  return type === undefined ? [] : [{ name, element, type, contentPath: type }];
}

function addToNode(nodes: Map<string, MutableNode>, element: ElementSchema): void {
  const path = parentPath(element.path);
  let node = nodes.get(path);
  if (node === undefined) {
    node = { path, properties: new Map(), required: [], choices: [] };
    nodes.set(path, node);
  }
  for (const property of propertiesOf(element)) {
    if (!node.properties.has(property.name)) node.properties.set(property.name, property);
  }
  if (element.min > 0) node.required.push(element);
  if (element.isChoice) node.choices.push(element);
}

function indexType(
  definition: RawStructureDefinition,
  elements: Map<string, ElementSchema>,
  nodes: Map<string, MutableNode>,
): TypeSchema {
  const parents = new Set(definition.elements.map((e) => parentPath(e.path)));
  const schemas = definition.elements.map((raw) =>
    toElementSchema(raw, parents.has(raw.path), raw.path === definition.name),
  );
  for (const element of schemas) {
    elements.set(element.path, element);
    if (element.path !== definition.name) addToNode(nodes, element);
  }
  return { name: definition.name, kind: definition.kind, abstract: definition.abstract, elements: schemas };
}

/** Builds the index from R4 StructureDefinitions; profiles (constraints) are left out. */
export function buildDefinitionsIndex(definitions: readonly RawStructureDefinition[]): DefinitionsIndex {
  const types = new Map<string, TypeSchema>();
  const elements = new Map<string, ElementSchema>();
  const nodes = new Map<string, MutableNode>();
  const primitives = new Map<string, PrimitiveRule>();
  for (const definition of definitions) {
    if (definition.derivation === 'constraint' || types.has(definition.name)) continue;
    types.set(definition.name, indexType(definition, elements, nodes));
    if (definition.kind === 'primitive-type') primitives.set(definition.name, primitiveRule(definition));
  }
  const resourceTypes = [...types.values()]
    .filter((t) => t.kind === 'resource' && !t.abstract)
    .map((t) => t.name)
    .sort();
  return { types, elements, nodes, primitives, resourceTypes };
}
