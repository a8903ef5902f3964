/**
 * Invariants (ElementDefinition.constraint, http://hl7.org/fhir/R4/conformance-rules.html#constraints)
 * evaluated with fhirpath.js and the R4 model. Each (context, expression) pair is compiled once
 * per process. Validation runs on every write, so the constraints that sit on every element or
 * every resource and whose outcome is evident from the JSON are answered without FHIRPath (see
 * `NATIVE`), and the boolean skeleton of the rest is first tried on the JSON (evident-invariant.ts).
 */
import fhirpath from 'fhirpath';
import { primitiveExtensionsKey } from '../../primitive-extensions-key.ts';
import { r4Model } from '../../search/fhir-model.ts';
import { evidentOutcome } from './evident-invariant.ts';
import type { ProfileConstraint } from './profile-definition.ts';

type Evaluator = (node: unknown, vars: Record<string, unknown>) => unknown[];

const compiled = new Map<string, Evaluator | Error>();

/**
 * FHIRPath's `as` wants one item, but R4 invariants apply it to collections (dom-3:
 * `descendants().as(canonical)`) meaning "the items of that type" — `ofType`, as R5 rewrote them.
 */
function evaluable(expression: string): string {
  return expression
    .replace(/\.as\(([A-Za-z][\w.]*)\)/g, '.ofType($1)')
    .replace(/\(([A-Za-z][\w.[\]]*)\s+as\s+([A-Za-z][\w.]*)\)/g, '($1.ofType($2))');
}

function evaluator(base: string, expression: string): Evaluator | Error {
  const key = `${base}\u0000${expression}`;
  let found = compiled.get(key);
  if (found === undefined) {
    try {
      found = fhirpath.compile({ base, expression: evaluable(expression) }, r4Model, {
        // dom-3 calls trace(); its output is not ours to print.
        traceFn: () => undefined,
      }) as Evaluator;
    } catch (error) {
      found = error instanceof Error ? error : new Error(String(error));
    }
    compiled.set(key, found);
  }
  return found;
}

/** Where a constraint is evaluated: the element's value, its definition path, and the resources around it. */
export interface InvariantScope {
  node: Record<string, unknown>;
  /** Definition path for the model: `Patient.contact`, or the datatype name `Period`. */
  base: string;
  resource: Record<string, unknown>;
  rootResource: Record<string, unknown>;
}

export type InvariantOutcome = 'pass' | 'fail' | { error: string };

function hasProperty(node: Record<string, unknown>, name: string): boolean {
  if (node[name] !== undefined || node[primitiveExtensionsKey(name)] !== undefined) return true;
  // A choice element (`value` of `value[x]`) is present as any `valueXxx`.
  for (const key of Object.keys(node)) {
    if (key.length > name.length && key.startsWith(name)) {
      const next = key.charCodeAt(name.length);
      if (next >= 0x41 && next <= 0x5a) return true;
    }
  }
  return false;
}

function containedIds(resource: Record<string, unknown>): string[] {
  const contained = resource.contained;
  if (!Array.isArray(contained)) return [];
  return contained.flatMap((c: unknown) =>
    typeof c === 'object' && c !== null && typeof (c as { id?: unknown }).id === 'string'
      ? [(c as { id: string }).id]
      : [],
  );
}

/** Every string of the tree that is a local reference (`#…`), as dom-3 looks for them. */
function collectLocalReferences(value: unknown, into: Set<string>, depth: number): void {
  if (depth > 64) return;
  if (typeof value === 'string') {
    if (value.charCodeAt(0) === 0x23) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectLocalReferences(item, into, depth + 1);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      // Narrative is XHTML, not a reference; its `#` anchors do not count.
      if (key !== 'div') collectLocalReferences(item, into, depth + 1);
    }
  }
}

/** A full date, or a dateTime with seconds and a time zone: Date.parse reads both exactly. */
function comparableInstant(value: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}$/.test(value) ||
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
  );
}

/**
 * The core R4 constraints whose outcome the JSON shows directly. Keyed by expression text, so a
 * profile that reuses a key with another expression still goes through FHIRPath.
 */
const NATIVE: Record<string, (scope: InvariantScope) => InvariantOutcome | undefined> = {
  // ele-1: every element has a value or children (json.html also forbids empty objects).
  'hasValue() or (children().count() > id.count())': ({ node }) =>
    Object.keys(node).some((key) => key !== 'id') ? 'pass' : 'fail',
  // ext-1: an extension has either extensions or a value, not both.
  'extension.exists() != value.exists()': ({ node }) =>
    (node.extension !== undefined) !== hasProperty(node, 'value') ? 'pass' : 'fail',
  // per-1: start ≤ end. Decided here when both are written to the same precision with a time
  // zone (or both as dates), where the instants compare; other mixes go to FHIRPath.
  'start.hasValue().not() or end.hasValue().not() or (start <= end)': ({ node }) => {
    const { start, end } = node;
    if (typeof start !== 'string' || typeof end !== 'string') return undefined;
    if (start.length !== end.length || !comparableInstant(start) || !comparableInstant(end)) return undefined;
    return Date.parse(start) <= Date.parse(end) ? 'pass' : 'fail';
  },
  // dom-3: every contained resource is referred to from the resource (`#id` in a reference, or a
  // canonical/uri), or itself refers to its container (`#`). FHIRPath walks every descendant of
  // the resource for each contained one; one walk collecting the local references does the same.
  "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()":
    ({ node }) => {
      const contained = Array.isArray(node.contained) ? node.contained : [];
      if (contained.length === 0) return 'pass';
      const local = new Set<string>();
      collectLocalReferences(node, local, 0);
      const unreferenced = contained.some((resource: unknown) => {
        if (typeof resource !== 'object' || resource === null) return false;
        const id = (resource as { id?: unknown }).id;
        if (typeof id === 'string' && local.has(`#${id}`)) return false;
        const own = new Set<string>();
        collectLocalReferences(resource, own, 0);
        return !own.has('#');
      });
      return unreferenced ? 'fail' : 'pass';
    },
  // ref-1: a local reference must point at a contained resource.
  "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))":
    ({ node, rootResource }) => {
      const reference = node.reference;
      // `#` alone refers to the container itself (references.html#contained).
      if (typeof reference !== 'string' || !reference.startsWith('#') || reference === '#') return 'pass';
      return containedIds(rootResource).includes(reference.slice(1)) ? 'pass' : 'fail';
    },
};

export function evaluateInvariant(constraint: ProfileConstraint, scope: InvariantScope): InvariantOutcome {
  const expression = constraint.expression;
  if (expression === undefined) return 'pass';
  const native = NATIVE[expression]?.(scope);
  if (native !== undefined) return native;
  const evident = evidentOutcome(scope.node, expression);
  if (evident !== undefined) return evident ? 'pass' : 'fail';
  const evaluate = evaluator(scope.base, expression);
  if (evaluate instanceof Error) return { error: evaluate.message };
  try {
    const result = evaluate(scope.node, { resource: scope.resource, rootResource: scope.rootResource });
    // conformance-rules.html#constraints: the expression must evaluate to true.
    return result.length === 1 && result[0] === true ? 'pass' : 'fail';
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
