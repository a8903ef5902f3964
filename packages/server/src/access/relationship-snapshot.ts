/**
 * A principal's relationships, resolved once and kept (DESIGN.md D6): the patients whose whole
 * record they reach (a family doctor's declarations, an organization's patients), what a proxy was
 * granted, and the Consents that deny them. Resolving them inside every statement made the
 * database plan and run the relationship subqueries per statement and per row; resolved, the
 * decision is a set lookup (a hash probe in SQL, a `Set` lookup for a read by id).
 *
 * Kept per principal until a committed write of a type it was read from (a declaration ending, a
 * Consent revoked: `committed`, called by the store after COMMIT), at most `ttlMs` (writes made
 * by other nodes), and never used by a transaction that has itself written such a type: that
 * transaction resolves them afresh on its own connection and sees its own rows.
 */
import type { FilterReader } from '../store/row-filter.ts';
import { joinSql, type Sql, sql } from '../store/sql.ts';
import {
  consentDeniedLabels,
  consentDeniedPatients,
  declaredPatients,
  organizationPatients,
  proxyGrants,
} from './relationship-sql.ts';

type Reference = { type: string; id: string };

/** What to resolve for one principal; the key of its cache entry. */
export interface RelationshipNeeds {
  /** Family doctor: patients with an active declaration with this Practitioner. */
  declaredWith?: Reference;
  /** Client bound to an organization: the patients it manages, its episodes' and encounters'. */
  organization?: Reference;
  /** Proxy: the grants of Consents naming this RelatedPerson. */
  proxy?: Reference;
  /** The practitioner and organization a patient's deny Consent may name. */
  deniable: readonly Reference[];
}

export interface Relationships {
  /** Patients whose whole record the principal reaches, unless they deny it. */
  patients: ReadonlySet<string>;
  /** The same, as a `text[]` literal bound as one parameter (built once, not per statement). */
  patientsLiteral: string;
  /**
   * The Patient resources in those patients' compartments (`compartment` rows: the patients
   * themselves unless deleted, and Patients whose `link` points at one of them), as a `text[]`
   * literal: a Patient row is then judged by its id alone, without a compartment lookup per row.
   */
  patientRowsLiteral: string;
  patientRows: ReadonlySet<string>;
  /** Patients who deny the principal their whole record. */
  deniedPatients: readonly string[];
  /** (patient, label system, label code) the principal is denied. */
  deniedLabels: readonly { patient: string; system: string; code: string }[];
  /** Proxy grants: patient → resource types (`*`: all). */
  grants: ReadonlyMap<string, ReadonlySet<string>>;
}

export const NO_RELATIONSHIPS: Relationships = {
  patients: new Set(),
  patientsLiteral: '{}',
  patientRowsLiteral: '{}',
  patientRows: new Set(),
  deniedPatients: [],
  deniedLabels: [],
  grants: new Map(),
};

/** The resource types each relationship is read from: a committed write of one renews it. */
function dependencies(needs: RelationshipNeeds): string[] {
  const types = new Set<string>();
  if (needs.declaredWith !== undefined) for (const type of ['Patient', 'EpisodeOfCare']) types.add(type);
  if (needs.organization !== undefined)
    for (const type of ['Patient', 'EpisodeOfCare', 'Encounter']) types.add(type);
  if (needs.proxy !== undefined || needs.deniable.length > 0) types.add('Consent');
  return [...types];
}

export function needsNothing(needs: RelationshipNeeds): boolean {
  return dependencies(needs).length === 0;
}

interface Entry {
  relationships: Relationships;
  dependencies: readonly string[];
  generations: readonly number[];
  expiresAt: number;
  /** What callers derived from these relationships (the compiled filter), kept as long as they are. */
  derived: Map<string, unknown>;
}

export interface RelationshipCacheOptions {
  /** How long resolved relationships are kept at most (other nodes' writes); default 5,000 ms. */
  ttlMs?: number;
  /** Most principals kept; the oldest entry goes first. */
  limit?: number;
  now?: () => number;
}

export class RelationshipCache {
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly limit: number;
  private readonly now: () => number;

  constructor(options: RelationshipCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5000;
    this.limit = options.limit ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * The relationships of `needs` (keyed by `key`) and a per-entry map for what the caller derives
   * from them; a fresh map when they were resolved for this call only.
   */
  async get(
    key: string,
    needs: RelationshipNeeds,
    reader: FilterReader,
  ): Promise<{ relationships: Relationships; derived: Map<string, unknown> }> {
    const types = dependencies(needs);
    if (reader.uncommitted !== undefined && types.some((type) => reader.uncommitted?.has(type))) {
      return { relationships: await resolve(needs, reader), derived: new Map() };
    }
    const entry = this.entries.get(key);
    if (entry !== undefined && this.fresh(entry)) return entry;
    const generations = types.map((type) => this.generations.get(type) ?? 0);
    const relationships = await resolve(needs, reader);
    const resolved: Entry = {
      relationships,
      dependencies: types,
      generations,
      expiresAt: this.now() + this.ttlMs,
      derived: new Map(),
    };
    // A write committed while resolving may or may not be in what was read: not kept then.
    if (this.fresh(resolved)) {
      this.entries.delete(key);
      if (this.entries.size >= this.limit) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(key, resolved);
    }
    return resolved;
  }

  /** The store committed writes of these types: relationships read from them are renewed. */
  committed(resourceTypes: ReadonlySet<string>): void {
    for (const type of resourceTypes) this.generations.set(type, (this.generations.get(type) ?? 0) + 1);
  }

  private fresh(entry: Entry): boolean {
    return (
      entry.expiresAt > this.now() &&
      entry.dependencies.every(
        (type, index) => (this.generations.get(type) ?? 0) === entry.generations[index],
      )
    );
  }
}

/** One statement, one round trip: every set the principal needs, as JSON text columns. */
async function resolve(needs: RelationshipNeeds, reader: FilterReader): Promise<Relationships> {
  const columns: Sql[] = [];
  const patientQueries: Sql[] = [];
  if (needs.declaredWith !== undefined) patientQueries.push(declaredPatients(needs.declaredWith));
  if (needs.organization !== undefined) patientQueries.push(organizationPatients(needs.organization));
  if (patientQueries.length > 0) {
    const patients = joinSql(patientQueries, ' union all ');
    columns.push(sql`(select coalesce(json_agg(distinct q.p), '[]'::json)
      from (${patients}) q (p))::text as patients`);
    columns.push(sql`(select coalesce(json_agg(distinct a_pr.id), '[]'::json) from compartment a_pr
      where a_pr.resource_type = 'Patient' and a_pr.patient_id in (select q.p from (${patients}) q (p)))::text
      as patient_rows`);
  }
  if (needs.deniable.length > 0) {
    columns.push(sql`(select coalesce(json_agg(distinct q.p), '[]'::json)
      from (${consentDeniedPatients(needs.deniable)}) q (p))::text as denied`);
    columns.push(sql`(select coalesce(json_agg(json_build_array(q.p, q.s, q.c)), '[]'::json)
      from (${consentDeniedLabels(needs.deniable)}) q (p, s, c))::text as labels`);
  }
  if (needs.proxy !== undefined) {
    columns.push(sql`(select coalesce(json_agg(json_build_array(q.p, q.t)), '[]'::json)
      from (${proxyGrants(needs.proxy)}) q (p, t))::text as grants`);
  }
  if (columns.length === 0) return NO_RELATIONSHIPS;
  const [row] = await reader.db.query(sql`select ${joinSql(columns, ', ')}`);
  const patients = strings(jsonColumn(row, 'patients'));
  const patientRows = strings(jsonColumn(row, 'patient_rows'));
  const grants = new Map<string, Set<string>>();
  for (const [patient = '', type = ''] of tuples(jsonColumn(row, 'grants'), 2)) {
    const types = grants.get(patient) ?? new Set<string>();
    types.add(type);
    grants.set(patient, types);
  }
  return {
    patients: new Set(patients),
    patientsLiteral: textArrayLiteral(patients),
    patientRowsLiteral: textArrayLiteral(patientRows),
    patientRows: new Set(patientRows),
    deniedPatients: strings(jsonColumn(row, 'denied')),
    deniedLabels: tuples(jsonColumn(row, 'labels'), 3).map(([patient = '', system = '', code = '']) => ({
      patient,
      system,
      code,
    })),
    grants,
  };
}

function jsonColumn(row: Record<string, unknown> | undefined, column: string): unknown {
  const value = row?.[column];
  return typeof value === 'string' ? JSON.parse(value) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Rows of `width` strings; a row with a null (a label without a system) cannot match and is dropped. */
function tuples(value: unknown, width: number): string[][] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (item): item is string[] =>
      Array.isArray(item) && item.length === width && item.every((part) => typeof part === 'string'),
  );
}

/**
 * `{a,b,"c d"}`: FHIR ids (`[A-Za-z0-9\-.]`) as they are — a third shorter for the database to
 * parse than quoted — and anything else, and the word NULL, quoted, so no value can change the
 * array's shape.
 */
export function textArrayLiteral(values: Iterable<string>): string {
  const elements: string[] = [];
  for (const value of values) {
    elements.push(
      /^[A-Za-z0-9\-.]+$/.test(value) && value.toLowerCase() !== 'null'
        ? value
        : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`,
    );
  }
  return `{${elements.join(',')}}`;
}
