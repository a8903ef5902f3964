/**
 * What an interaction handler gets besides its request. `write` runs a unit of work atomically:
 * on its own it opens a store transaction; inside a transaction Bundle it joins the Bundle's one.
 */
import type { SearchParameterRegistry } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { ResourceStore, StoreReads, StoreTransaction } from '../store/port.ts';
import type { FhirRequest, FhirResponse, InteractionName } from './interaction.ts';
import type { TerminologyFilterResolver } from './terminology-filters.ts';

export interface CoreConfig {
  /** Public base URL of the server without the FHIR path (`http://host:8080`). */
  baseUrl: string;
  updateCreate: boolean;
  defaultPageSize: number;
  maxPageSize: number;
  /** Most `_include`/`_revinclude` resources in one search page. */
  maxIncludes: number;
  /** Most entries in one transaction or batch Bundle; more is 413. */
  maxBundleEntries: number;
  /** How a target the access decision hides is answered (hidden-targets.ts); default `not-found`. */
  accessHidden?: HiddenAnswer;
}

/** `CONCORDIA_ACCESS_HIDDEN`: a hidden target answers as a missing one, or 403 (hidden-targets.ts). */
export type HiddenAnswer = 'not-found' | 'forbidden';

export interface InteractionEnv {
  ctx: RequestContext;
  config: CoreConfig;
  /** Absolute URL of the FHIR base (`http://host:8080/fhir`). */
  fhirBase: string;
  store: ResourceStore;
  reads: StoreReads;
  /** The server's search parameters: R4 plus its custom SearchParameters (custom-search-parameters.ts). */
  searchParameters: SearchParameterRegistry;
  write<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Resolves `:in`, `:not-in`, `:above`, `:below` token filters; absent: they are unsupported. */
  terminologyFilters?: TerminologyFilterResolver;
}

/** A request after routing: the path's parts are named and checked. */
export interface RoutedRequest extends FhirRequest {
  resourceType?: string;
  id?: string;
  versionId?: number;
}

export type InteractionHandler = (request: RoutedRequest, env: InteractionEnv) => Promise<FhirResponse>;

export interface Route {
  interaction: InteractionName;
  handler: InteractionHandler;
}
