/**
 * Search expressions that only name elements — `Observation.code`, `Patient.name.given`,
 * `(Observation.effective as dateTime)`, `Observation.subject.where(resolve() is Patient)` — read
 * straight from the resource's JSON instead of through fhirpath.js. They are most of what a write
 * evaluates, and fhirpath.js spends most of its time on each one building a parse-tree context
 * and a ResourceNode per step; the indexer needs only each selected item's JSON and element type.
 *
 * The result is exactly fhirpath.js's (search-element-path.test.ts compares them on the R4
 * examples and Synthea records): the same items in the same order, typed from the same model
 * (`path2Type`, choice types tried in the model's order, content references followed), primitives
 * with their `_element` twin, and `ofType` keeping a type or any type derived from it — for
 * resources in FHIR JSON form, where a `_element` twin is an object, or an array beside an array.
 * Anything else — a function, an index, an element of a primitive or a resource, a choice in
 * mid-path — is left to fhirpath.js.
 */
import type { Model } from 'fhirpath';
import { type FhirResource, isRecord } from '../resource.ts';
import { REFERS_TO_FUNCTION } from './expression.ts';
import { r4Types } from './fhir-model.ts';

/** One selected item, in the shape of a fhirpath.js ResourceNode that `typedValues` reads. */
export interface ElementNode {
  data: unknown;
  fhirNodeDataType: string | null;
}

/** The items an element path selects from a resource. */
export type ElementPath = (resource: FhirResource) => ElementNode[];

/** `refersTo('Patient')` on one Reference's JSON (see index-resource.ts). */
export type RefersTo = (reference: unknown, type: string) => boolean;

interface Step {
  property: string;
  isChoice: boolean;
  /** The element's type per choice suffix (`Quantity` → `valueQuantity`), or one `''` entry. */
  choices: readonly Choice[];
}

/**
 * One JSON property a step reads. The keys are built once, when the expression is compiled: a key
 * built on every read is a new string V8 must look up in its string table first.
 */
interface Choice {
  type: string | null;
  /** `valueQuantity`, or the property itself. */
  key: string;
  /** Its primitive twin, `_valueQuantity` (json.html#primitive). */
  twinKey: string;
}

/** A node while walking: `extension` is the `_element` twin of a primitive (json.html#primitive). */
interface Walked {
  data: unknown;
  extension: unknown;
  type: string | null;
}

const TAIL = `(?:\\.ofType\\(([A-Za-z]+)\\)|\\.where\\(${REFERS_TO_FUNCTION}\\('([A-Z][A-Za-z]*)'\\)\\))?\\s*(\\)*)$`;
// `(Type.a.b.ofType(T))` and `Type.a.where(refersTo('T'))`, as evaluableExpression rewrites them.
const ELEMENT_PATH = new RegExp(`^(\\(*)\\s*([A-Z][A-Za-z0-9]*)((?:\\.[a-z][A-Za-z0-9]*)+)${TAIL}`);
// The same relative to an item: `code`, `value.ofType(Quantity)` (a composite's components).
const RELATIVE_PATH = new RegExp(`^(\\(*)\\s*()([a-z][A-Za-z0-9]*(?:\\.[a-z][A-Za-z0-9]*)*)${TAIL}`);

/**
 * The direct reader of `expression` (already rewritten by evaluableExpression) over resources of
 * `resourceType`, or undefined when it is not a plain element path this reader answers exactly.
 */
export function elementPath(
  expression: string,
  resourceType: string,
  model: Model,
  refersTo: RefersTo,
): ElementPath | undefined {
  const match = ELEMENT_PATH.exec(expression.trim());
  const type = match?.[2];
  // `Resource.meta.tag` reads the elements of the resource's own type, as fhirpath.js does.
  if (match === null || type === undefined || !r4Types.isA(resourceType, type)) return undefined;
  const read = compiledPath(match, resourceType, model, refersTo);
  return read === undefined ? undefined : (resource) => read(resource, null);
}

/** Reads `data` (with its `_element` twin) as the element at `basePath`, e.g. `Observation.component`. */
export type ItemPath = (basePath: string, data: unknown, extension: unknown) => ElementNode[] | undefined;

/**
 * The direct reader of a relative `expression` over an item (undefined when it is not a plain
 * element path): it answers undefined for an item whose element path it cannot read exactly.
 */
export function relativeElementPath(
  expression: string,
  model: Model,
  refersTo: RefersTo,
): ItemPath | undefined {
  const match = RELATIVE_PATH.exec(expression.trim());
  if (match === null) return undefined;
  const byBase = new Map<string, ((data: unknown, extension: unknown) => ElementNode[]) | undefined>();
  return (basePath, data, extension) => {
    let read = byBase.get(basePath);
    if (read === undefined && !byBase.has(basePath)) {
      read = compiledPath(match, basePath, model, refersTo);
      byBase.set(basePath, read);
    }
    return read?.(data, extension);
  };
}

function compiledPath(
  match: RegExpExecArray,
  basePath: string,
  model: Model,
  refersTo: RefersTo,
): ((data: unknown, extension: unknown) => ElementNode[]) | undefined {
  const [, open = '', , path = '', ofType, referenceType, close = ''] = match;
  if (open.length !== close.length) return undefined;
  const steps = compileSteps(path.replace(/^\./, '').split('.'), basePath, model);
  if (steps === undefined) return undefined;
  const last = steps[steps.length - 1];
  if (ofType !== undefined) {
    // Only the spec's use: one type of a choice element, compared through the type tree.
    if (last === undefined || !last.choices.some((choice) => choice.type === ofType)) return undefined;
    return (data, extension) => selected(data, extension, steps, (node) => isOfType(node.type, ofType));
  }
  if (referenceType !== undefined) {
    return (data, extension) =>
      selected(data, extension, steps, (node) => refersTo(node.data, referenceType));
  }
  return (data, extension) => selected(data, extension, steps);
}

function compileSteps(properties: readonly string[], basePath: string, model: Model): Step[] | undefined {
  const steps: Step[] = [];
  let parentPath = basePath;
  for (const [position, property] of properties.entries()) {
    // fhirpath.js names `extension` children after `Extension`; rare in search expressions.
    if (property === 'extension' || property === 'modifierExtension') return undefined;
    let childPath = `${parentPath}.${property}`;
    childPath = model.pathsDefinedElsewhere[childPath] ?? childPath;
    const isLast = position === properties.length - 1;
    const suffixes = model.choiceTypePaths[childPath];
    if (suffixes !== undefined) {
      if (!isLast) return undefined;
      const choices = suffixes.map((suffix) =>
        choice(property, suffix, model.path2Type[`${childPath}${suffix}`] ?? null),
      );
      if (choices.some((choice) => choice.type === null)) return undefined;
      steps.push({ property, isChoice: true, choices });
      continue;
    }
    const type = model.path2Type[childPath] ?? null;
    // A mid-path element must be complex: fhirpath.js reads a primitive's children from its twin.
    // A resource inside (`Bundle.entry.resource`) is typed by its own resourceType, not the model.
    if (type === null || (!isLast && !isComplexType(type)) || r4Types.isA(type, 'Resource')) return undefined;
    steps.push({ property, isChoice: false, choices: [choice(property, '', type)] });
    parentPath = model.path2TypeWithoutElements[childPath] ?? childPath;
  }
  return steps;
}

function isComplexType(type: string): boolean {
  const first = type.charCodeAt(0);
  return first >= 0x41 && first <= 0x5a;
}

function isOfType(type: string | null, wanted: string): boolean {
  return type !== null && r4Types.isA(type, wanted);
}

function selected(
  data: unknown,
  extension: unknown,
  steps: readonly Step[],
  keep?: (node: Walked) => boolean,
): ElementNode[] {
  let nodes: Walked[] = [{ data, extension, type: null }];
  for (const step of steps) {
    const next: Walked[] = [];
    for (const node of nodes) children(node, step, next);
    if (next.length === 0) return [];
    nodes = next;
  }
  const result: ElementNode[] = [];
  for (const node of nodes) {
    if (keep === undefined || keep(node)) result.push({ data: node.data, fhirNodeDataType: node.type });
  }
  return result;
}

function choice(property: string, suffix: string, type: string | null): Choice {
  const key = `${property}${suffix}`;
  return { type, key, twinKey: `_${key}` };
}

/** fhirpath.js `makeChildResNodes`: the items of one element of `node`, in document order. */
function children(node: Walked, step: Step, into: Walked[]): void {
  const data = isRecord(node.data) ? node.data : undefined;
  let value: unknown;
  let twin: unknown;
  let type: string | null = null;
  for (const choice of step.choices) {
    value = data?.[choice.key];
    twin = data?.[choice.twinKey];
    type = choice.type;
    if (value !== undefined || twin !== undefined) break;
  }
  if (!step.isChoice && value === undefined && twin === undefined && isRecord(node.extension)) {
    value = node.extension[step.property];
  }
  if (isEmpty(value) && isEmpty(twin)) return;
  if (Array.isArray(value)) {
    const twins = Array.isArray(twin) ? twin : undefined;
    value.forEach((item: unknown, index) => {
      into.push({ data: item, extension: twins?.[index], type });
    });
    for (let index = value.length; index < (twins?.length ?? 0); index++) {
      into.push({ data: null, extension: twins?.[index], type });
    }
    return;
  }
  if (value == null && Array.isArray(twin)) {
    for (const item of twin) into.push({ data: null, extension: item, type });
    return;
  }
  into.push({ data: value, extension: twin, type });
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || (Array.isArray(value) && value.length === 0);
}
