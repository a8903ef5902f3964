/**
 * A principal's relationships, resolved once and kept (DESIGN.md D6): the patients whose whole
 * record they reach (a family doctor's declarations, an organization's patients), what a proxy was
 * granted, the Consents that deny them or everyone (their provision trees walked here, not per
 * row), and who a practitioner acts as — their active PractitionerRoles and CareTeams, with what
 * those add to the episode and encounter rules. Resolving them inside every statement made the
 * database plan and run the relationship subqueries per statement and per row; resolved, the
 * decision is a set lookup (a hash probe in SQL, a `Set` lookup for a read by id).
 *
 * Kept per principal until a committed write of a type it was read from (a declaration ending, a
 * Consent revoked: `committed`, called by the store after COMMIT; another node's write, when its
 * change notification arrives: store/change-notifications.ts), at most `ttlMs` (the safety net for
 * a notification missed while reconnecting), and never used by a transaction that has itself
 * written such a type: that transaction resolves them afresh on its own connection and sees its
 * own rows.
 */
import type { ChangeSubscription } from '../store/change-notifications.ts';
import type { FilterReader } from '../store/row-filter.ts';
import { joinSql, type Sql, sql } from '../store/sql.ts';
import { consentRules, optOutRules, type ScopedDenial } from './consent-provisions.ts';
import { type Denials, NO_DENIALS } from './consent-rules.ts';
import {
  actorCareTeams,
  actorConsents,
  actorlessConsents,
  careTeamEncounters,
  careTeamEpisodes,
  declaredPatients,
  type EpisodeActors,
  organizationPatients,
  practitionerRoles,
  roleOrganizations,
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
  /**
   * A Practitioner who also acts through their active PractitionerRoles and CareTeams: a Consent
   * naming one of those names them.
   */
  practitioner?: Reference;
  /** Resolve what the practitioner's CareTeams add to the episode rules (specialist, emergency). */
  episodes?: boolean;
  /** Resolve the organizations of the practitioner's active PractitionerRoles (nurse). */
  roleOrganizations?: boolean;
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
  /** Denials by resource type or with exceptions (nested provisions: consent-provisions.ts). */
  scopedDenials: readonly ScopedDenial[];
  /** Opt-outs for everyone (Consents naming no actor), for principals with relationship rules. */
  optOuts: Denials;
  /** The practitioner, their roles and teams, for the episode rules (`needs.episodes`). */
  episodeActors?: EpisodeActors;
  /** The organizations of the practitioner's active PractitionerRoles (`needs.roleOrganizations`). */
  roleOrganizations: readonly Reference[];
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
  scopedDenials: [],
  optOuts: NO_DENIALS,
  grants: new Map(),
  roleOrganizations: [],
};

/** The resource types each relationship is read from: a committed write of one renews it. */
function dependencies(needs: RelationshipNeeds): string[] {
  const types = new Set<string>();
  if (needs.declaredWith !== undefined) for (const type of ['Patient', 'EpisodeOfCare']) types.add(type);
  if (needs.organization !== undefined)
    for (const type of ['Patient', 'EpisodeOfCare', 'Encounter']) types.add(type);
  if (needs.proxy !== undefined || needs.deniable.length > 0) types.add('Consent');
  if (needs.practitioner !== undefined) for (const type of ['PractitionerRole', 'CareTeam']) types.add(type);
  if (needs.episodes === true) for (const type of ['EpisodeOfCare', 'Encounter']) types.add(type);
  return [...types];
}

/** Every type `dependencies` may name: writes of others change no relationship. */
const RELATIONSHIP_TYPES = new Set([
  'Patient',
  'EpisodeOfCare',
  'Encounter',
  'Consent',
  'PractitionerRole',
  'CareTeam',
]);

/** The written types other nodes must hear of (store/change-notifications.ts `announcement`). */
export function relationshipTypesIn(resourceTypes: Iterable<string>): string[] {
  return [...resourceTypes].filter((type) => RELATIONSHIP_TYPES.has(type));
}

export function needsNothing(needs: RelationshipNeeds): boolean {
  return dependencies(needs).length === 0;
}

interface Entry {
  relationships: Relationships;
  dependencies: readonly string[];
  generations: readonly number[];
  expiresAt: number;
  /** `RelationshipCache.resets` when resolved: a reset drops every entry. */
  resets: number;
  /** What callers derived from these relationships (the compiled filter), kept as long as they are. */
  derived: Map<string, unknown>;
}

export interface RelationshipCacheOptions {
  /**
   * How long resolved relationships are kept at most; default 5,000 ms. With `changes`, other
   * nodes' writes drop them at once and this only covers a missed notification.
   */
  ttlMs?: number;
  /** Other nodes' committed writes (store/change-notifications.ts); absent: one node, or `ttlMs` only. */
  changes?: ChangeSubscription;
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
  private resets = 0;

  constructor(options: RelationshipCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5000;
    this.limit = options.limit ?? 10_000;
    this.now = options.now ?? Date.now;
    options.changes?.subscribe((change) => {
      if (change.kind === 'resources') this.committed(new Set(change.resourceTypes));
      else if (change.kind === 'reset') {
        this.resets += 1;
        this.entries.clear();
      }
    });
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
    const resets = this.resets;
    const relationships = await resolve(needs, reader);
    const resolved: Entry = {
      relationships,
      dependencies: types,
      generations,
      expiresAt: this.now() + this.ttlMs,
      resets,
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
      entry.resets === this.resets &&
      entry.dependencies.every(
        (type, index) => (this.generations.get(type) ?? 0) === entry.generations[index],
      )
    );
  }
}

/**
 * One statement, one round trip: every set the principal needs, as JSON text columns; the
 * Consents that may name them are walked here (consent-provisions.ts), once per principal.
 */
async function resolve(needs: RelationshipNeeds, reader: FilterReader): Promise<Relationships> {
  const statement = resolvingStatement(needs);
  if (statement === undefined) return NO_RELATIONSHIPS;
  const [row] = await reader.db.query(statement);
  return relationshipsOf(row, needs);
}

/** The actors a patient's Consent may name: the principal's own references, before roles and teams. */
function namedActors(needs: RelationshipNeeds): Reference[] {
  return [...needs.deniable, ...(needs.proxy !== undefined ? [needs.proxy] : [])];
}

function resolvingStatement(needs: RelationshipNeeds): Sql | undefined {
  const named = namedActors(needs);
  const ctes: Sql[] = [
    sql`a_named (type, id) as (select * from unnest(${named.map((actor) => actor.type)}::text[],
      ${named.map((actor) => actor.id)}::text[]))`,
  ];
  const columns: Sql[] = [];
  const { practitioner } = needs;
  if (practitioner === undefined) {
    ctes.push(sql`a_actors (type, id) as (select * from a_named)`);
  } else {
    // Who the practitioner acts as: themselves, their active roles, the active teams of either.
    ctes.push(sql`a_roles (id) as (${practitionerRoles(practitioner)})`);
    ctes.push(sql`a_people (type, id) as (select ${practitioner.type}, ${practitioner.id}
      union all select 'PractitionerRole', a_rl.id from a_roles a_rl)`);
    ctes.push(sql`a_teams (id) as (${actorCareTeams(sql`select * from a_people`)})`);
    ctes.push(sql`a_actors (type, id) as (select * from a_named union select * from a_people
      union select 'CareTeam', a_tm.id from a_teams a_tm)`);
    columns.push(sql`(select coalesce(json_agg(json_build_array(q.t, q.i)), '[]'::json)
      from (select * from a_actors) q (t, i))::text as actors`);
    if (needs.episodes === true) {
      columns.push(sql`(select coalesce(json_agg(distinct q.e), '[]'::json)
        from (${careTeamEncounters(sql`select id from a_teams`)}) q (e))::text as team_encounters`);
      columns.push(sql`(select coalesce(json_agg(distinct q.e), '[]'::json)
        from (${careTeamEpisodes(sql`select id from a_teams`, sql`select id from a_roles`)}) q (e))::text
        as team_episodes`);
    }
    if (needs.roleOrganizations === true) {
      columns.push(sql`(select coalesce(json_agg(json_build_array(q.t, q.i)), '[]'::json)
        from (${roleOrganizations(sql`select id from a_roles`)}) q (t, i))::text as role_organizations`);
    }
  }
  const patientQueries: Sql[] = [];
  if (needs.declaredWith !== undefined) {
    // A declaration may name one of the doctor's roles as its care manager.
    const roles = practitioner !== undefined ? sql`select id from a_roles` : undefined;
    patientQueries.push(declaredPatients(needs.declaredWith, roles));
  }
  if (needs.organization !== undefined) patientQueries.push(organizationPatients(needs.organization));
  if (patientQueries.length > 0) {
    const patients = joinSql(patientQueries, ' union all ');
    columns.push(sql`(select coalesce(json_agg(distinct q.p), '[]'::json)
      from (${patients}) q (p))::text as patients`);
    columns.push(sql`(select coalesce(json_agg(distinct a_pr.id), '[]'::json) from compartment a_pr
      where a_pr.resource_type = 'Patient' and a_pr.patient_id in (select q.p from (${patients}) q (p)))::text
      as patient_rows`);
  }
  if (named.length > 0) {
    columns.push(sql`(select coalesce(json_agg(json_build_array(q.p, q.provision)), '[]'::json)
      from (${actorConsents(sql`select * from a_actors`)}) q (p, provision))::text as consents`);
  }
  if (needs.deniable.length > 0) {
    columns.push(sql`(select coalesce(json_agg(json_build_array(q.p, q.provision)), '[]'::json)
      from (${actorlessConsents()}) q (p, provision))::text as opt_outs`);
  }
  if (columns.length === 0) return undefined;
  return sql`with ${joinSql(ctes, ', ')} select ${joinSql(columns, ', ')}`;
}

/** The types a practitioner takes part in episodes as (not their organization). */
const EPISODE_ACTOR_TYPES = new Set(['Practitioner', 'PractitionerRole', 'CareTeam']);

function relationshipsOf(row: Record<string, unknown> | undefined, needs: RelationshipNeeds): Relationships {
  const patients = strings(jsonColumn(row, 'patients'));
  const patientRows = strings(jsonColumn(row, 'patient_rows'));
  const actors = tuples(jsonColumn(row, 'actors'), 2);
  const references = new Set([
    ...namedActors(needs).map((actor) => `${actor.type}/${actor.id}`),
    ...actors.map(([type, id]) => `${type}/${id}`),
  ]);
  const stored = (column: string) =>
    arrays(jsonColumn(row, column)).map(([patient, provision]) => ({
      patient: typeof patient === 'string' ? patient : '',
      provision,
    }));
  const consents = stored('consents');
  const proxy = needs.proxy !== undefined ? `${needs.proxy.type}/${needs.proxy.id}` : undefined;
  const now = new Date();
  const rules = consentRules(consents, references, now, proxy);
  const takingPart = actors.filter(([type = '']) => EPISODE_ACTOR_TYPES.has(type));
  return {
    patients: new Set(patients),
    patientsLiteral: textArrayLiteral(patients),
    patientRowsLiteral: textArrayLiteral(patientRows),
    patientRows: new Set(patientRows),
    deniedPatients: [...new Set(rules.deniedPatients)],
    deniedLabels: rules.deniedLabels,
    scopedDenials: rules.scopedDenials,
    optOuts: optOutRules(stored('opt_outs'), references, now),
    grants: rules.grants,
    roleOrganizations: tuples(jsonColumn(row, 'role_organizations'), 2).map(([type = '', id = '']) => ({
      type,
      id,
    })),
    ...(needs.practitioner !== undefined && needs.episodes === true
      ? {
          episodeActors: {
            types: takingPart.map(([type = '']) => type),
            ids: takingPart.map(([, id = '']) => id),
            encounters: strings(jsonColumn(row, 'team_encounters')),
            episodes: strings(jsonColumn(row, 'team_episodes')),
          },
        }
      : {}),
  };
}

function jsonColumn(row: Record<string, unknown> | undefined, column: string): unknown {
  const value = row?.[column];
  return typeof value === 'string' ? JSON.parse(value) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function arrays(value: unknown): unknown[][] {
  return Array.isArray(value) ? value.filter((item): item is unknown[] => Array.isArray(item)) : [];
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
