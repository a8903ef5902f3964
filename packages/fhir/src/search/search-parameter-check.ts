/**
 * Whether a SearchParameter resource (http://hl7.org/fhir/R4/searchparameter.html) can be served
 * as a custom parameter: every problem is found before it is stored, each naming the element in
 * `expression`, so that a parameter the indexer could not evaluate never reaches the registry (a
 * write would then fail for every resource of its base).
 *
 * The expression is checked as the indexer will run it: per base type, each top-level alternative
 * rewritten by `evaluableExpression`, compiled by fhirpath.js against the R4 model and evaluated
 * once on an empty resource (fhirpath.js reports unknown functions only then), and its first
 * element looked up in the model, because fhirpath.js itself accepts any element name.
 */
import fhirpath from 'fhirpath';
import { FhirError, type OutcomeIssue } from '../outcome.ts';
import { isRecord } from '../resource.ts';
import {
  evaluableExpression,
  expressionForType,
  leadingTypeName,
  REFERS_TO_FUNCTION,
  rootElements,
  splitUnion,
} from './expression.ts';
import { r4Model } from './fhir-model.ts';
import {
  type ParsedSearchParameter,
  parseSearchParameter,
  type SearchParameterRegistry,
  type SearchParamType,
} from './search-parameters.ts';

/** The parameter types the index holds (index-resource.ts); composite and special are not indexed. */
const INDEXABLE_TYPES: readonly SearchParamType[] = [
  'token',
  'string',
  'reference',
  'date',
  'number',
  'quantity',
  'uri',
];

const ABSTRACT_BASES = ['Resource', 'DomainResource'];

/** Letters, digits, `-` and `_`, starting with a letter: `:` and `.` would read as modifier and chain. */
const CUSTOM_CODE = /^[A-Za-z][A-Za-z0-9_-]*$/;

// Only compiled and evaluated on an empty resource: the indexer registers the real function.
const CHECK_FUNCTIONS = { [REFERS_TO_FUNCTION]: { fn: () => [], arity: { 1: ['String' as const] } } };

/**
 * The parsed parameter when `resource` can be registered in `registry` as a custom parameter.
 * @throws FhirError (422) listing every problem, each with the element in `expression`.
 */
export function checkCustomSearchParameter(
  resource: unknown,
  registry: SearchParameterRegistry,
): ParsedSearchParameter {
  const issues: OutcomeIssue[] = [];
  const problem = (element: string, diagnostics: string, code: OutcomeIssue['code'] = 'invalid') =>
    issues.push({ severity: 'error', code, diagnostics, expression: [`SearchParameter.${element}`] });
  if (!isRecord(resource))
    throw unprocessable([{ severity: 'error', code: 'invalid', diagnostics: 'Not a resource' }]);

  if (typeof resource.url !== 'string' || resource.url.length === 0) {
    problem('url', 'A custom SearchParameter needs a canonical url', 'required');
  }
  const code = resource.code;
  if (typeof code !== 'string' || !CUSTOM_CODE.test(code)) {
    problem('code', 'code must start with a letter and hold only letters, digits, "-" and "_"', 'value');
  }
  if (typeof resource.type === 'string' && !INDEXABLE_TYPES.some((type) => type === resource.type)) {
    problem('type', `Search parameters of type '${resource.type}' cannot be indexed yet`, 'not-supported');
  }
  if (typeof resource.expression !== 'string' || resource.expression.trim().length === 0) {
    problem('expression', 'A custom SearchParameter needs an expression (FHIRPath)', 'required');
  }
  const bases = Array.isArray(resource.base) ? resource.base : [];
  bases.forEach((base, index) => {
    if (typeof base === 'string' && !registry.isResourceType(base) && !ABSTRACT_BASES.includes(base)) {
      problem(`base[${index}]`, `'${base}' is not a resource type`, 'value');
    }
  });
  const targets = Array.isArray(resource.target) ? resource.target : [];
  targets.forEach((target, index) => {
    if (typeof target !== 'string' || !registry.isResourceType(target)) {
      problem(`target[${index}]`, `'${String(target)}' is not a resource type`, 'value');
    }
  });
  if (issues.length > 0) throw unprocessable(issues);

  const parsed = parseOrUnprocessable(resource);
  const expression = parsed.expression ?? '';
  for (const base of parsed.base) {
    const own = expressionForType(expression, parsed.base, base);
    if (own === undefined) {
      problem('expression', `No alternative of '${expression}' starts with ${base}`);
      continue;
    }
    for (const type of registry.resourceTypesOf(base)) {
      const why = expressionProblem(own, type);
      if (why !== undefined) {
        problem('expression', `'${own}' cannot be evaluated on ${type}: ${why}`);
        break;
      }
      const existing = registry.get(type, parsed.code);
      if (existing !== undefined && existing.url !== parsed.url) {
        problem(
          'code',
          `${type} already has a search parameter '${parsed.code}' (${existing.url ?? 'built in'})`,
          'duplicate',
        );
        break;
      }
    }
  }
  if (issues.length > 0) throw unprocessable(issues);
  return parsed;
}

function parseOrUnprocessable(resource: unknown): ParsedSearchParameter {
  try {
    return parseSearchParameter(resource);
  } catch (error) {
    if (error instanceof FhirError) throw new FhirError('unprocessable', error.issues);
    throw error;
  }
}

function unprocessable(issues: OutcomeIssue[]): FhirError {
  return new FhirError('unprocessable', issues);
}

/** Why `expression` cannot be evaluated on `resourceType`, or undefined when it can. */
function expressionProblem(expression: string, resourceType: string): string | undefined {
  for (const alternative of splitUnion(expression)) {
    // A relative path (`name | alias`) starts lower-case; an upper-case start names a type, which
    // must be this one (or an abstract base of it), or the alternative selects nothing, ever.
    const leading = leadingTypeName(alternative);
    if (
      leading !== undefined &&
      /^[A-Z]/.test(leading) &&
      leading !== resourceType &&
      !ABSTRACT_BASES.includes(leading)
    ) {
      return `'${alternative}' starts from ${leading}, not ${resourceType}`;
    }
    const rewritten = evaluableExpression(alternative);
    if (/\bresolve\(\)/.test(rewritten)) {
      return 'resolve() is only supported as `resolve() is Type` (it would fetch inside a write)';
    }
    try {
      const compiled = fhirpath.compile(rewritten, r4Model, {
        resolveInternalTypes: false,
        userInvocationTable: CHECK_FUNCTIONS,
      });
      compiled({ resourceType });
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    const unknown = rootElements(alternative, resourceType)?.find(
      (element) => !isElementOf(resourceType, element),
    );
    if (unknown !== undefined) return `${resourceType} has no element '${unknown}'`;
  }
  return undefined;
}

/** True when the R4 model defines `element` on `type` or a type it derives from (choice types too). */
function isElementOf(type: string, element: string): boolean {
  let current: string | undefined = type;
  for (let depth = 0; current !== undefined && depth < 16; depth++) {
    const path = `${current}.${element}`;
    if (r4Model.path2Type[path] !== undefined || r4Model.choiceTypePaths[path] !== undefined) return true;
    current = r4Model.type2Parent[current];
  }
  return false;
}
