/**
 * A profile compiled once into the tree the validator walks: each element with its children
 * and slices, and for every JSON property name the element and type it stands for. Compiling is
 * a single pass over the snapshot; the walk afterwards is map lookups.
 */
import type { ProfileDefinition, ProfileElement, ProfileType } from './profile-definition.ts';

/** One JSON property an object may carry under this profile: `valueQuantity` → `value[x]` as Quantity. */
export interface PropertyDefinition {
  readonly element: CompiledElement;
  readonly type: ProfileType | undefined;
}

export interface CompiledElement {
  readonly definition: ProfileElement;
  readonly profile: CompiledProfile;
  /** The JSON name, without `[x]`: `value` for `Observation.value[x]`. */
  readonly name: string;
  readonly isChoice: boolean;
  readonly children: CompiledElement[];
  /** Slices of this element, in definition order (with their own children). */
  readonly slices: CompiledElement[];
  /** JSON property name → child (choice elements contribute one name per type). */
  readonly properties: Map<string, PropertyDefinition>;
}

export interface CompiledProfile {
  readonly definition: ProfileDefinition;
  readonly root: CompiledElement;
  /** Elements by id, to follow contentReference (`#Questionnaire.item`). */
  readonly byId: ReadonlyMap<string, CompiledElement>;
  /** A constraint (not a base type): its cardinalities and types narrow the base and must be checked here. */
  readonly isConstraint: boolean;
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

/** `valueQuantity` from `value` and `Quantity` (json.html#choice). */
export function choiceName(base: string, type: string): string {
  return base + type.charAt(0).toUpperCase() + type.slice(1);
}

/** `Observation.component:systolic.code` → parent `Observation.component:systolic`, slice name of the last segment. */
function splitId(id: string): { parentId: string; segment: string } {
  // Slice names may contain dots only in URLs (`extension:http://…`); those ids are rare and we
  // accept treating them approximately.
  const dot = id.lastIndexOf('.');
  return dot < 0 ? { parentId: '', segment: id } : { parentId: id.slice(0, dot), segment: id.slice(dot + 1) };
}

function addProperties(parent: CompiledElement, child: CompiledElement): void {
  if (child.isChoice) {
    for (const type of child.definition.types) {
      const name = choiceName(child.name, type.code);
      if (!parent.properties.has(name)) parent.properties.set(name, { element: child, type });
    }
  } else if (!parent.properties.has(child.name)) {
    parent.properties.set(child.name, { element: child, type: child.definition.types[0] });
  }
}

export function compileProfile(definition: ProfileDefinition): CompiledProfile {
  const byId = new Map<string, CompiledElement>();
  const profile = { definition, byId, isConstraint: definition.derivation === 'constraint' } as {
    definition: ProfileDefinition;
    byId: Map<string, CompiledElement>;
    isConstraint: boolean;
    root?: CompiledElement;
  };
  for (const element of definition.elements) {
    const name = lastSegment(element.path);
    const compiled: CompiledElement = {
      definition: element,
      profile: profile as CompiledProfile,
      name: name.replace('[x]', ''),
      isChoice: name.endsWith('[x]'),
      children: [],
      slices: [],
      properties: new Map(),
    };
    byId.set(element.id, compiled);
    if (profile.root === undefined) {
      profile.root = compiled;
      continue;
    }
    const { parentId, segment } = splitId(element.id);
    const colon = segment.indexOf(':');
    if (colon >= 0) {
      const sliced = byId.get(`${parentId}.${segment.slice(0, colon)}`);
      if (sliced !== undefined) sliced.slices.push(compiled);
      continue;
    }
    const parent = byId.get(parentId) ?? byId.get(element.path.slice(0, element.path.lastIndexOf('.')));
    if (parent === undefined) continue;
    parent.children.push(compiled);
    addProperties(parent, compiled);
  }
  if (profile.root === undefined)
    throw new Error(`StructureDefinition ${definition.url} has an empty snapshot`);
  return profile as CompiledProfile;
}

/** The child of `element` that a discriminator or fixed-value path segment names (`code`, `value`). */
export function childNamed(element: CompiledElement, name: string): CompiledElement | undefined {
  return element.children.find((child) => child.name === name);
}
