/**
 * Where a ValueSet comes from when it is named by canonical URL (`url` or `url|version`): the
 * stored ValueSet resources first (an exchange's own value sets and a loaded IG's), then the R4
 * specification's.
 */
import { fhirError } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { StoreReads } from '../store/port.ts';
import type { SpecTerminology } from './spec-terminology.ts';

type Json = Record<string, unknown>;

export interface ValueSetSource {
  /** The ValueSet, or a 404 `FhirError` naming the canonical. */
  find(ctx: RequestContext, store: StoreReads, canonical: string): Promise<Json>;
}

/** `url|version` split (references.html#canonical). */
export function splitCanonical(canonical: string): { url: string; version?: string } {
  const bar = canonical.indexOf('|');
  return bar < 0 ? { url: canonical } : { url: canonical.slice(0, bar), version: canonical.slice(bar + 1) };
}

export function valueSetSource(spec: SpecTerminology): ValueSetSource {
  return {
    async find(ctx, store, canonical) {
      const { url, version } = splitCanonical(canonical);
      const page = await store.search(ctx, {
        resourceTypes: ['ValueSet'],
        allTypes: false,
        filters: [{ kind: 'uri', match: 'equals', parameter: 'url', code: 'url', values: [url] }],
        sort: [{ code: '_lastUpdated', type: 'date', descending: true }],
        count: 50,
        total: 'none',
        includes: [],
        includeLimit: 0,
      });
      const stored = page.matches
        .map((match): unknown => JSON.parse(match.json))
        .filter(isObject)
        .find((resource) => version === undefined || resource.version === version);
      if (stored !== undefined) return stored;
      const fromSpec = spec.valueSet(url);
      if (fromSpec !== undefined && (version === undefined || fromSpec.version === version)) return fromSpec;
      throw fhirError('not-found', 'not-found', `Unknown value set ${canonical}`);
    },
  };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
