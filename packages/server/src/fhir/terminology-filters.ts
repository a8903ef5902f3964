/**
 * The token search modifiers that need a terminology server (http://hl7.org/fhir/R4/search.html#token):
 * `:in` / `:not-in` (the coding is / is not in the value set named by the value's URL), `:below`
 * (the coding is the code given or subsumed by it) and `:above` (the code given or one that
 * subsumes it), each over `system|code`. Before a search is planned they are resolved through
 * the terminology service into plain (system, code) sets (`code-set` filters) that the store
 * compiles to one semi-join on `search_token`. The sets are bounded: beyond `maxCodes` a search
 * would be a giant IN list, and is refused as too costly (400) instead.
 */
import {
  type CodeSetMember,
  FhirError,
  fhirError,
  type SearchFilter,
  type SearchQuery,
  type TerminologyModifier,
} from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { TerminologyService } from '../terminology/terminology-service.ts';

export type TerminologyFilterResolver = (ctx: RequestContext, query: SearchQuery) => Promise<SearchQuery>;

/** Resolves every terminology filter of a query, chained and `_has` ones included. */
export function terminologyFilterResolver(
  terminology: TerminologyService,
  maxCodes: number,
): TerminologyFilterResolver {
  const resolve = async (ctx: RequestContext, filter: SearchFilter): Promise<SearchFilter> => {
    switch (filter.kind) {
      case 'terminology': {
        const codes: CodeSetMember[] = [];
        for (const value of filter.values) {
          codes.push(...(await codesOf(terminology, ctx, filter, value, maxCodes - codes.length)));
          if (codes.length > maxCodes) throw tooCostly(filter.parameter, maxCodes);
        }
        return {
          kind: 'code-set',
          parameter: filter.parameter,
          code: filter.code,
          modifier: filter.modifier,
          negate: filter.modifier === 'not-in',
          codes: distinct(codes),
        };
      }
      case 'chain':
      case 'has':
        return { ...filter, inner: await resolve(ctx, filter.inner) };
      default:
        return filter;
    }
  };
  return async (ctx, query) => {
    if (!query.filters.some(hasTerminologyFilter)) return query;
    const filters: SearchFilter[] = [];
    for (const filter of query.filters) filters.push(await resolve(ctx, filter));
    return { ...query, filters };
  };
}

function hasTerminologyFilter(filter: SearchFilter): boolean {
  if (filter.kind === 'terminology') return true;
  return (filter.kind === 'chain' || filter.kind === 'has') && hasTerminologyFilter(filter.inner);
}

async function codesOf(
  terminology: TerminologyService,
  ctx: RequestContext,
  filter: { parameter: string; modifier: TerminologyModifier },
  value: string,
  limit: number,
): Promise<readonly CodeSetMember[]> {
  try {
    if (filter.modifier === 'in' || filter.modifier === 'not-in') {
      // search.html#token: "the search parameter value is a URI that identifies a value set".
      return await terminology.valueSetCodes(ctx, value, limit);
    }
    const { system, code } = subsumptionValue(filter.parameter, filter.modifier, value);
    const codes =
      filter.modifier === 'below'
        ? await terminology.codesBelow(ctx, system, code, limit)
        : await terminology.codesAbove(ctx, system, code, limit);
    return codes.map((member) => ({ system, code: member }));
  } catch (error) {
    // An unknown value set or code system is the client's search that cannot be evaluated.
    if (error instanceof FhirError && error.kind === 'not-found') {
      throw new FhirError(
        'invalid',
        error.issues.map((issue) => ({ ...issue, expression: [filter.parameter] })),
      );
    }
    if (error instanceof FhirError && error.issues.some((issue) => issue.code === 'too-costly')) {
      throw tooCostly(filter.parameter, limit);
    }
    throw error;
  }
}

/** `:above`/`:below` need `system|code`: subsumption is defined within one code system. */
function subsumptionValue(parameter: string, modifier: TerminologyModifier, value: string): CodeSetMember {
  const bar = value.indexOf('|');
  const system = bar > 0 ? value.slice(0, bar) : '';
  const code = bar > 0 ? value.slice(bar + 1) : '';
  if (system === '' || code === '' || code.includes('|')) {
    throw fhirError(
      'invalid',
      'invalid',
      `${parameter}: ':${modifier}' needs system|code (subsumption is defined within a code system), not '${value}'`,
      [parameter],
    );
  }
  return { system, code };
}

function tooCostly(parameter: string, maxCodes: number): FhirError {
  return fhirError(
    'invalid',
    'too-costly',
    `${parameter}: the codes it stands for are more than ${maxCodes}, the most a search resolves (CONCORDIA_TERMINOLOGY_SEARCH_MAX_CODES); narrow it`,
    [parameter],
  );
}

function distinct(codes: readonly CodeSetMember[]): CodeSetMember[] {
  const seen = new Set<string>();
  return codes.filter((member) => {
    const key = `${member.system}|${member.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
