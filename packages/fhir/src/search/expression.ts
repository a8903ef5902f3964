/**
 * Text-level handling of SearchParameter.expression (FHIRPath), before it is compiled.
 *
 * A SearchParameter shared by several resource types carries one expression joined with `|`
 * over all of them (e.g. `clinical-patient`: `AllergyIntolerance.patient | CarePlan.subject…`).
 * Evaluating the whole union against every resource would be wasted work and, for
 * `Resource.…` style paths, wrong; each base type keeps only its own alternatives.
 */

/** Splits a FHIRPath expression on its top-level union operators (`|` outside parens and strings). */
export function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '`') quote = ch;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts.filter((part) => part.length > 0);
}

/** The type name an alternative starts from: `(Observation.value as Quantity)` → `Observation`. */
export function leadingTypeName(alternative: string): string | undefined {
  return /^\(*\s*([A-Za-z][A-Za-z0-9]*)/.exec(alternative)?.[1];
}

/**
 * The part of `expression` that applies to `resourceType`: the alternatives starting with that
 * type name. Expressions of the `Resource`/`DomainResource` parameters apply to every type as
 * written (fhirpath.js matches `Resource.id` against any resource through the model's type tree),
 * and so does the expression of a single-base parameter, which may be relative to the resource
 * (R4 `InsurancePlan-name` is `name | alias`).
 */
export function expressionForType(
  expression: string,
  bases: readonly string[],
  resourceType: string,
): string | undefined {
  const [onlyBase, ...otherBases] = bases;
  const appliesToAll = bases.includes('Resource') || bases.includes('DomainResource');
  if (appliesToAll || (onlyBase === resourceType && otherBases.length === 0)) return expression;
  const own = splitUnion(expression).filter((alternative) => leadingTypeName(alternative) === resourceType);
  return own.length > 0 ? own.join(' | ') : undefined;
}

/** Name of the function that replaces `resolve() is T` (see `evaluableExpression`). */
export const REFERS_TO_FUNCTION = 'refersTo';

/**
 * Rewrites an R4 search expression into one fhirpath.js can evaluate synchronously over any
 * resource; the result selects the same elements the spec means.
 *
 * - `resolve() is T` → `refersTo('T')`. fhirpath.js implements `resolve()` only asynchronously, by
 *   fetching the target over HTTP. Indexing runs inside the write transaction and must neither
 *   fetch nor wait, and the only question R4 expressions ask of a resolved target is its type
 *   (`where(resolve() is Patient)`), which the reference itself states (`Patient/123`,
 *   `…/Patient/123`, or `Reference.type`). The indexer registers `refersTo`.
 * - `(path as T)` and `path.as(T)` → `path.ofType(T)`. FHIRPath's `as` demands a single item,
 *   but R4 applies it to repeating elements (`(Observation.component.value as CodeableConcept)`
 *   on a blood-pressure panel) meaning "the items of type T", which is `ofType`; R5 rewrote
 *   these expressions with `ofType` for that reason.
 */
export function evaluableExpression(expression: string): string {
  return expression
    .replace(
      /\bresolve\(\)\s+is\s+(?:FHIR\.)?([A-Z][A-Za-z]*)/g,
      (_match, type: string) => `${REFERS_TO_FUNCTION}('${type}')`,
    )
    .replace(/\(([A-Za-z][\w.[\]]*)\s+as\s+([A-Za-z][\w.]*)\)/g, '($1.ofType($2))')
    .replace(/\.as\(([A-Za-z][\w.]*)\)/g, '.ofType($1)');
}

/** Constructs that yield a value from an empty input (`deceased.exists() and …` is `false`). */
const VALUE_FROM_NOTHING =
  /exists\(|empty\(|count\(|iif\(|not\(|all\w*\(|any\w*\(|%|\b(?:and|or|xor|implies)\b/;

/**
 * The top-level elements an expression starts from (`Observation.subject.where(…)` → `subject`),
 * or undefined when it may select something even without them. The indexer skips an expression
 * whose elements are all absent from the resource, which is most of them in a typical resource.
 */
export function rootElements(expression: string, resourceType: string): string[] | undefined {
  if (VALUE_FROM_NOTHING.test(expression)) return undefined;
  const roots: string[] = [];
  for (const alternative of splitUnion(expression)) {
    const match = /^\(*\s*([A-Za-z][A-Za-z0-9]*)\.([a-z][A-Za-z0-9]*)/.exec(alternative);
    const [, type, element] = match ?? [];
    const fromThisType = type === resourceType || type === 'Resource' || type === 'DomainResource';
    if (!element || !fromThisType) return undefined;
    roots.push(element);
  }
  return roots;
}
