/**
 * The store port: everything the FHIR core needs from persistence. One implementation
 * (`resource-store.ts`) runs the same SQL over either adapter (`postgres.ts`, `pglite.ts`).
 *
 * Invariants every implementation keeps (tested by `test/store/contract.ts`):
 * - every version of every resource is kept; a delete writes a tombstone version;
 * - version ids are per resource, start at 1 and increase by one per change;
 * - `lastUpdated` comes from the database clock (the transaction timestamp);
 * - the resource, its history row, its search index and its compartments change in one transaction.
 */
import type {
  FhirResource,
  IdentifiedResource,
  IncludeDirective,
  SearchFilter,
  SortKey,
  TotalMode,
} from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { SqlExecutor } from './database.ts';
import type { Cte, Sql } from './sql.ts';

/** The HTTP verb that produced a version; FHIR history reports it in `Bundle.entry.request`. */
export type ChangeMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  /** FHIR instant with millisecond precision, UTC (`2026-11-24T14:15:08.123Z`). */
  lastUpdated: string;
  method: ChangeMethod;
  deleted: boolean;
  /** The resource serialised as JSON with `meta.versionId` and `meta.lastUpdated` set; `undefined` for tombstones. */
  json?: string;
}

export interface ResourceWrite {
  kind: 'write';
  method: Exclude<ChangeMethod, 'DELETE'>;
  /** Must carry its id; `meta.versionId` and `meta.lastUpdated` are overwritten by the store. */
  resource: IdentifiedResource;
  /**
   * Version-aware update: fail with 412 unless the current version is this one (a tombstone's
   * version counts; a resource that never existed fails too).
   */
  ifMatch?: number;
  /** `true` for a create with a server-assigned id: fail with 409 if the id exists (even deleted). */
  mustNotExist?: boolean;
}

export interface ResourceDeletion {
  kind: 'delete';
  resourceType: string;
  id: string;
  /** Fail with 412 unless the current version (tombstone included) is this one. */
  ifMatch?: number;
}

export type ResourceChange = ResourceWrite | ResourceDeletion;

/** Which resource: its type and id. */
export interface ResourceKey {
  resourceType: string;
  id: string;
}

/** A version about to be written, as the store hands it to a `VersionRecorder`. */
export interface RecordedVersion {
  ctx: RequestContext;
  version: StoredVersion;
  /** The resource exactly as stored (meta stamped); absent for a tombstone. */
  resource?: IdentifiedResource;
}

/**
 * Rows another part of the system keeps for every version the store writes, in the same statement
 * and so the same transaction (DESIGN.md rule 1): ledger leaves, the audit of writes, outbox events.
 * The store calls `record` before it runs the statement that writes the version and adds each
 * statement it returns as a data-modifying CTE of that statement: no extra round trip per write.
 * The CTE named `written` (the new `resource` row) is in scope; select from it
 * (`insert into … select … from written`) so that nothing is recorded when the version is not
 * written (a create that lost the race for its id). CTEs cannot nest data-modifying statements,
 * so a recorder that writes two tables (an audit row and its ledger leaf) returns two statements.
 */
export interface VersionRecorder {
  /** A name for its CTEs (a SQL identifier, unique among recorders). */
  name: string;
  /**
   * Data-modifying statements to run with the write; none to record nothing. A `Cte` keeps the
   * name its recorder gave it, so that its other statements can refer to it (sql.ts `Cte`).
   */
  record(recorded: RecordedVersion): readonly (Sql | Cte)[];
  /**
   * The same for many versions written by one statement (batched-writes.ts: a transaction
   * Bundle's creates and the updates of resources it locked), as a few multi-row statements
   * instead of a few per version. Without it the store calls `record` for each version.
   */
  recordMany?(recorded: readonly RecordedVersion[]): readonly (Sql | Cte)[];
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Only versions with lastUpdated ≥ this instant (http.html#history `_since`). */
  since?: string;
  /** Only versions current at this instant (`_at`). */
  at?: string;
  count: number;
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string;
  /** Also count every matching version (ignoring the cursor) into `HistoryPage.total`. */
  total?: boolean;
}

export interface HistoryPage {
  versions: StoredVersion[];
  /** Cursor for the next (older) page, if there is one. */
  next?: string;
  total?: number;
}

/**
 * One page of a search (http://hl7.org/fhir/R4/search.html) as the store runs it: the filters
 * (AND) and sort of the search IR, only those `store/search/search-support.ts` accepts.
 */
export interface StoreSearch {
  /** The types searched; ignored when `allTypes`. */
  resourceTypes: string[];
  allTypes: boolean;
  filters: SearchFilter[];
  /** Sort keys in order; ties (and an empty list) fall back to (resource type, id). */
  sort: SortKey[];
  /** Only resources in this Patient's compartment (compartmentdefinition-patient). */
  compartment?: { type: 'Patient'; id: string };
  /**
   * Only resources in the compartment of one of these current Patients, or of any current Patient
   * (`'any'`): bulk `$export` at Patient and Group level (export.html).
   */
  patientCompartments?: readonly string[] | 'any';
  count: number;
  /** Opaque cursor of a previous page's `next` or `previous`. */
  cursor?: string;
  /**
   * `SearchPage.total` (search.html#total): `accurate` counts every match (ignoring cursor and
   * count); `estimate` takes the planner's row estimate, counting exactly when that is small.
   */
  total: TotalMode;
  includes: IncludeDirective[];
  /** At most this many `_include`/`_revinclude` resources per page; more sets `includeLimitReached`. */
  includeLimit: number;
  /**
   * search.html#contained: with `true` only contained resources match, with `both` they match
   * beside the others; `type` says whether a match is returned as its container or alone.
   * Absent: `_contained=false`.
   */
  contained?: { mode: 'true' | 'both'; type: 'container' | 'contained' };
}

/** A current resource as stored, sent without re-parsing. */
export interface StoredMatch {
  resourceType: string;
  id: string;
  json: string;
  /** A contained resource returned alone (`_containedType=contained`): the resource holding it. */
  container?: { resourceType: string; id: string };
}

export interface SearchPage {
  matches: StoredMatch[];
  /** `_include`/`_revinclude` results, each once, none of them also a match. */
  included: StoredMatch[];
  /** `true` when more resources were to be included than `StoreSearch.includeLimit` allows. */
  includeLimitReached?: boolean;
  /** Cursor of the following page, if there is one. */
  next?: string;
  /** Cursor of the preceding page, when this page is not the first. */
  previous?: string;
  total?: number;
}

/**
 * One page of Patient `$everything` (patient-operation-everything.html): the members of one
 * Patient's compartment, or of every Patient's, keyset-paged in (resource type, id) order, and the
 * resources of `referencedTypes` that the page's members reference (through `search_reference`).
 */
export interface EverythingQuery {
  /** The Patient whose compartment is read; absent at type level: every current Patient's. */
  patientId?: string;
  /** Only members of these resource types (`_type`); absent: every type. */
  types?: string[];
  /** Types of the resources outside the compartment that are included when a member refers to them. */
  referencedTypes: string[];
  /** Only members with lastUpdated ≥ this instant (`_since`). */
  since?: string;
  count: number;
  /** Opaque cursor of a previous page's `next` or `previous`. */
  cursor?: string;
  /** Count every member (ignoring cursor and count) into `SearchPage.total`. */
  total: boolean;
}

export interface StoreReads {
  /** The current version, a tombstone if deleted, or `undefined` if the id never existed. */
  read(ctx: RequestContext, resourceType: string, id: string): Promise<StoredVersion | undefined>;
  readVersion(
    ctx: RequestContext,
    resourceType: string,
    id: string,
    versionId: number,
  ): Promise<StoredVersion | undefined>;
  /** One page of matches, keyset-paged: a cursor stays correct while other writes happen. */
  search(ctx: RequestContext, search: StoreSearch): Promise<SearchPage>;
  /** One page of `$everything`: compartment members as matches, what they reference as included. */
  everything(ctx: RequestContext, query: EverythingQuery): Promise<SearchPage>;
}

export interface StoreTransaction extends StoreReads {
  /**
   * Serialise with every other transaction that takes the same key, until this one ends.
   * Used by conditional interactions so that two identical conditional creates cannot both create.
   */
  lock(key: string): Promise<void>;
  /**
   * The transaction's own connection, for tables another part of the server keeps in step with the
   * resources it writes (the concept tables of a stored CodeSystem, terminology/terminology-write-hooks.ts):
   * their rows commit or roll back with the resources.
   */
  readonly sql: SqlExecutor;
  /**
   * Reads and locks, in one statement, the current rows of resources this transaction is about
   * to write (a transaction Bundle's PUT entries, an import batch). Their reads by a context the
   * access decision does not restrict then answer without a statement, and their writes go out
   * together in one statement before the next other statement or COMMIT (batched-writes.ts).
   */
  lockForWrite(targets: readonly ResourceKey[]): Promise<void>;
  /**
   * Writes the change as a new version and returns it. Deleting a resource that is already deleted
   * writes nothing and returns its current tombstone (http.html#delete: still a success); deleting
   * one that never existed fails with 404 — the core reads first to answer 200/204 for it.
   */
  apply(ctx: RequestContext, change: ResourceChange): Promise<StoredVersion>;
}

/** One batch of a reindex: current resources of one type, in id order after `afterId`. */
export interface ReindexBatch {
  resourceType: string;
  /** Exclusive keyset start; absent: from the first id. */
  afterId?: string;
  limit: number;
}

export interface ReindexedBatch {
  /** Resources reindexed; 0 when the type has none left after `afterId`. */
  count: number;
  /** The last id reindexed: the next batch's `afterId`. */
  lastId?: string;
}

export interface ResourceStore extends StoreReads {
  /** Run `work` in one database transaction: all of its changes commit together or none do. */
  transact<T>(ctx: RequestContext, work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  history(ctx: RequestContext, query: HistoryQuery): Promise<HistoryPage>;
  /**
   * Rewrites the search-index and compartment rows of one batch of current resources with the
   * store's indexer as it is now, in one transaction; writes no version (reindex.ts).
   */
  reindex(ctx: RequestContext, batch: ReindexBatch): Promise<ReindexedBatch>;
  /** How many current (not deleted) resources the types hold together. */
  countCurrent(ctx: RequestContext, resourceTypes: readonly string[]): Promise<number>;
  /**
   * VACUUM (ANALYZE) of every store table. Bulk loads call it when they finish: until autovacuum
   * catches up, a freshly loaded database plans searches on the statistics of an empty one (a
   * chained search measured 149 ms before and 1.4 ms after, on 50,000 resources), and its index-only
   * scans still visit the table for every row because the visibility map is not set yet (5,031 heap
   * fetches in one chained search on 1,000,000 resources; 0 after, for 3.4 s of VACUUM).
   */
  refreshStatistics(): Promise<void>;
  /** For `/readyz`: the database answers and every migration is applied. */
  readiness(): Promise<{ ready: boolean; detail: string }>;
  close(): Promise<void>;
}

export type { FhirResource };
