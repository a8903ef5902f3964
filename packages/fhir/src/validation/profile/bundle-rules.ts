/**
 * Rules of http://hl7.org/fhir/R4/bundle.html that no invariant states: absolute fullUrls
 * ("fullUrl SHALL be an absolute URL", bundle.html#bundle-unique), one link per paging
 * relation, and ids on the resources a search returned.
 */
import type { ValidationIssues } from './validation-issues.ts';

/** The relations a Bundle may carry only once (bundle.html#searchset, http.html#paging). */
const SINGLE_RELATIONS: ReadonlySet<string> = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An absolute URI: a scheme, then `:` (urn:uuid:…, http://…). */
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

export function checkBundleRules(
  bundle: Record<string, unknown>,
  path: string,
  issues: ValidationIssues,
): void {
  const links = Array.isArray(bundle.link) ? bundle.link : [];
  const relations = new Set<string>();
  links.forEach((link: unknown, index) => {
    if (!isObject(link) || typeof link.relation !== 'string') return;
    if (SINGLE_RELATIONS.has(link.relation) && relations.has(link.relation)) {
      issues.error(
        'invalid',
        `${path}.link[${index}]`,
        `The link relationship type '${link.relation}' can only occur once`,
      );
    }
    relations.add(link.relation);
  });
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  entries.forEach((entry: unknown, index) => {
    if (!isObject(entry)) return;
    const at = `${path}.entry[${index}]`;
    if (typeof entry.fullUrl === 'string' && !ABSOLUTE.test(entry.fullUrl)) {
      issues.error('invalid', at, `The fullUrl must be an absolute URL (not '${entry.fullUrl}')`);
    }
    const resource = entry.resource;
    const search = isObject(entry.search) ? entry.search : {};
    if (
      bundle.type === 'searchset' &&
      isObject(resource) &&
      search.mode !== 'outcome' &&
      resource.resourceType !== 'OperationOutcome' &&
      resource.id === undefined
    ) {
      issues.error('required', `${at}.resource`, 'Search results must have ids (bundle.html#searchset)');
    }
  });
}
