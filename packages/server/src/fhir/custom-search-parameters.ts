/**
 * The server's own search parameters (http://hl7.org/fhir/R4/searchparameter.html): the R4 ones
 * plus the SearchParameter resources stored in the database, in one registry that the search
 * parser, the indexer and the CapabilityStatement all read.
 *
 * Lifecycle of a custom parameter:
 * - written (REST, transaction, import): checked first (`checkCustomSearchParameter`, 422 on a bad
 *   one), registered after commit; from then on every write indexes it;
 * - it is searchable on a type only once a reindex has covered that type with its current version
 *   (`search_parameter_coverage`); until then the registry marks it `indexing` and a search on it
 *   answers "is being indexed";
 * - deleted: removed from the registry after commit, and a reindex of its types drops its rows.
 *
 * Registered are the `active` and `draft` ones (a draft can be tried before it is published);
 * `retired` and `unknown` ones, and those whose url is an R4 parameter's, are stored as data only.
 *
 * Several nodes share the database: each polls `SearchParameterSource.marker()` every
 * `refreshIntervalMs` and reloads when it changed, so a change made on one node reaches the others
 * within that interval.
 */
import {
  checkCustomSearchParameter,
  createR4SearchParameterRegistry,
  type FhirResource,
  fhirError,
  type IdentifiedResource,
  patientCompartmentDefinition,
  type ResourceIndex,
  ResourceIndexer,
  resourceTypes,
  type SearchParameterRegistry,
} from '@concordia/fhir';
import type { Logger } from 'pino';
import type {
  SearchParameterCoverage,
  SearchParameterSource,
  StoredSearchParameter,
} from '../store/search-parameter-rows.ts';

/** SearchParameter.status values that are registered. */
const REGISTERED_STATUSES: ReadonlySet<unknown> = new Set(['active', 'draft']);

/** A registered custom parameter, as a reindex job snapshots it. */
export interface RegisteredSearchParameter {
  id: string;
  url: string;
  code: string;
  versionSeq: number;
  /** The concrete resource types it applies to. */
  types: string[];
}

export interface CustomSearchParametersOptions {
  source: SearchParameterSource;
  logger: Pick<Logger, 'warn' | 'error' | 'info'>;
  /** How often to look for changes made by other nodes. */
  refreshIntervalMs: number;
}

export class CustomSearchParameters {
  readonly registry: SearchParameterRegistry = createR4SearchParameterRegistry();
  private readonly indexer = new ResourceIndexer(this.registry, patientCompartmentDefinition());
  private readonly builtInUrls = new Set<string>();
  /** By SearchParameter id. */
  private registered = new Map<string, Registration>();
  private marker: string | undefined;
  private refreshing: Promise<void> | undefined;
  private poller: NodeJS.Timeout | undefined;

  constructor(private readonly options: CustomSearchParametersOptions) {
    for (const type of resourceTypes()) {
      for (const parameter of this.registry.forType(type)) {
        if (parameter.url !== undefined) this.builtInUrls.add(parameter.url);
      }
    }
  }

  get refreshIntervalMs(): number {
    return this.options.refreshIntervalMs;
  }

  /** The indexer the store writes with (store/write-change.ts `ResourceIndexer`). */
  readonly index = (resource: IdentifiedResource): ResourceIndex => {
    try {
      return this.indexer.index(resource);
    } catch (error) {
      // A custom expression that passed the check can still fail on some data (a function that
      // demands one item meeting a repeating element): the write is refused with the reason
      // rather than answered 500; the fix is to correct or delete that SearchParameter.
      if (!(error instanceof Error) || this.registered.size === 0) throw error;
      throw fhirError(
        'unprocessable',
        'processing',
        `${resource.resourceType}/${resource.id} cannot be indexed with the server's search parameters: ${error.message}`,
      );
    }
  };

  /**
   * Refuses a SearchParameter this server would register but could not serve. One whose status is
   * not registered, or whose url is an R4 parameter's, is data and passes.
   * @throws FhirError (422) naming each problem.
   */
  check(resource: FhirResource & { id: string }): void {
    if (!this.isCustom(resource)) return;
    const parsed = checkCustomSearchParameter(resource, this.registry);
    const sameUrl = [...this.registered.values()].find(
      (entry) => entry.url === parsed.url && entry.id !== resource.id,
    );
    if (sameUrl !== undefined) {
      throw fhirError(
        'unprocessable',
        'duplicate',
        `SearchParameter/${sameUrl.id} already has the url ${parsed.url}`,
        ['SearchParameter.url'],
      );
    }
  }

  /** The custom parameters registered now, for a reindex job to record coverage of. */
  snapshot(): RegisteredSearchParameter[] {
    return [...this.registered.values()].map(({ id, url, code, versionSeq, types }) => ({
      id,
      url,
      code,
      versionSeq,
      types,
    }));
  }

  /** A registered custom parameter by SearchParameter id. */
  byId(id: string): RegisteredSearchParameter | undefined {
    return this.registered.get(id);
  }

  /**
   * The resource types a `$reindex` for `searchParameter` (a canonical url or a code) must cover:
   * a custom parameter's types, or the types having an R4 parameter of that url or code.
   */
  typesOf(searchParameter: string): string[] {
    const custom = [...this.registered.values()].find(
      (entry) => entry.url === searchParameter || entry.code === searchParameter,
    );
    if (custom !== undefined) return custom.types;
    return resourceTypes().filter((type) =>
      this.registry
        .forType(type)
        .some((parameter) => parameter.url === searchParameter || parameter.code === searchParameter),
    );
  }

  /** Records that every current resource of `types` is indexed with the `covered` versions. */
  async recordCoverage(
    types: readonly string[],
    covered: readonly RegisteredSearchParameter[],
  ): Promise<void> {
    const entries: SearchParameterCoverage[] = covered.flatMap((entry) =>
      entry.types
        .filter((type) => types.includes(type))
        .map((resourceType) => ({ searchParameterId: entry.id, resourceType, versionSeq: entry.versionSeq })),
    );
    await this.options.source.recordCoverage(entries);
    await this.refresh();
  }

  /** Reloads from the database when the marker changed (or always, when `force`). */
  refresh(force = false): Promise<void> {
    // One reload at a time; a caller arriving during one waits for it and then checks again.
    const run = async (): Promise<void> => {
      const marker = await this.options.source.marker();
      if (!force && marker === this.marker) return;
      const loaded = await this.options.source.load();
      this.apply(loaded.stored, loaded.coverage);
      this.marker = marker;
    };
    const previous = this.refreshing ?? Promise.resolve();
    const next = previous.then(run, run);
    this.refreshing = next.finally(() => {
      if (this.refreshing === next) this.refreshing = undefined;
    });
    return next;
  }

  /** Polls for changes made by other nodes until `stop()`. */
  startPolling(): void {
    this.poller ??= setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'reloading the search parameters failed'),
      );
    }, this.options.refreshIntervalMs);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller !== undefined) clearInterval(this.poller);
    this.poller = undefined;
  }

  private isCustom(resource: Record<string, unknown>): boolean {
    if (!REGISTERED_STATUSES.has(resource.status)) return false;
    return typeof resource.url !== 'string' || !this.builtInUrls.has(resource.url);
  }

  private apply(
    stored: readonly StoredSearchParameter[],
    coverage: readonly SearchParameterCoverage[],
  ): void {
    const covered = new Map<string, number>();
    for (const entry of coverage) {
      covered.set(`${entry.searchParameterId}|${entry.resourceType}`, entry.versionSeq);
    }
    const next = new Map<string, Registration>();
    for (const { id, versionSeq, resource } of stored) {
      if (!this.isCustom(resource)) continue;
      const registration = this.register(id, versionSeq, resource, covered);
      if (registration !== undefined) next.set(id, registration);
    }
    for (const [id, entry] of this.registered) {
      if (!next.has(id)) this.registry.remove(entry.url);
    }
    this.registered = next;
  }

  /**
   * Registers (or keeps) one stored SearchParameter with the bases a reindex has not covered yet
   * marked `indexing`; undefined, logged, when it is not usable.
   */
  private register(
    id: string,
    versionSeq: number,
    resource: Record<string, unknown>,
    covered: ReadonlyMap<string, number>,
  ): Registration | undefined {
    const current = this.registered.get(id);
    const isCovered = (type: string) => (covered.get(`${id}|${type}`) ?? -1) >= versionSeq;
    if (current?.versionSeq === versionSeq) {
      const indexingBases = current.bases.filter(
        (base) => !this.registry.resourceTypesOf(base).every(isCovered),
      );
      if (sameList(indexingBases, current.indexingBases)) return current;
      this.registry.add(resource, { indexingBases });
      return { ...current, indexingBases };
    }
    // A new version: its old registration must not count as a clash when it is checked again
    // (stored SearchParameters are checked on load too: they may predate this check).
    if (current !== undefined) this.registry.remove(current.url);
    try {
      const parsed = checkCustomSearchParameter(resource, this.registry);
      const types = [...new Set(parsed.base.flatMap((base) => this.registry.resourceTypesOf(base)))];
      const indexingBases = parsed.base.filter(
        (base) => !this.registry.resourceTypesOf(base).every(isCovered),
      );
      this.registry.add(resource, { indexingBases });
      return {
        id,
        url: parsed.url ?? '',
        code: parsed.code,
        versionSeq,
        types,
        bases: parsed.base,
        indexingBases,
      };
    } catch (error) {
      this.options.logger.warn(
        { err: error, searchParameter: id },
        'a stored SearchParameter is not usable; ignored',
      );
      return undefined;
    }
  }
}

interface Registration extends RegisteredSearchParameter {
  bases: string[];
  /** The bases not yet searchable. */
  indexingBases: string[];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}
