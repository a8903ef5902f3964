/**
 * The R4 definitions index, built on first use and kept for the life of the process (about a
 * second to parse the spec JSON once; afterwards every question is a map lookup).
 */
import { buildDefinitionsIndex, type DefinitionsIndex } from './definitions-index.ts';
import type { ElementSchema, NodeSchema, PrimitiveRule, TypeSchema } from './element-schema.ts';
import { readR4StructureDefinitions } from './r4-definitions-files.ts';

let index: DefinitionsIndex | undefined;

export function r4DefinitionsIndex(): DefinitionsIndex {
  index ??= buildDefinitionsIndex(readR4StructureDefinitions());
  return index;
}

/** A concrete R4 resource type (http://hl7.org/fhir/R4/resourcelist.html); `Resource` and `DomainResource` are abstract. */
export function isResourceType(name: string): boolean {
  const type = r4DefinitionsIndex().types.get(name);
  return type !== undefined && type.kind === 'resource' && !type.abstract;
}

/** All concrete R4 resource types, sorted. */
export function resourceTypes(): string[] {
  return [...r4DefinitionsIndex().resourceTypes];
}

/** A resource type, complex datatype or primitive by name: `Patient`, `HumanName`, `date`. */
export function typeSchema(name: string): TypeSchema | undefined {
  return r4DefinitionsIndex().types.get(name);
}

/** An element by definition path: `Patient.contact.name`, `Observation.value[x]`, `Questionnaire.item.item`. */
export function elementSchema(path: string): ElementSchema | undefined {
  return r4DefinitionsIndex().elements.get(path);
}

/** The JSON properties allowed at a type's root (`HumanName`) or in a backbone element (`Patient.contact`). */
export function nodeSchema(path: string): NodeSchema | undefined {
  return r4DefinitionsIndex().nodes.get(path);
}

export function primitiveTypeRule(type: string): PrimitiveRule | undefined {
  return r4DefinitionsIndex().primitives.get(type);
}
