/**
 * The access decision (DESIGN.md rule 2, D6): who may reach which rows, from the principal's
 * roles, their relationships to patients, the patients' Consents and the purpose of use. It
 * compiles to a SQL condition (`RowFilter`, store/row-filter.ts) that the store adds to every
 * read, search, include, chain, `_has`, history, `$everything`, export and count, and to element
 * masks the core applies to what it sends (element-masking.ts). docs/security.md explains the model.
 *
 * Resources outside the Patient compartment (Practitioner, Organization, Location, Medication,
 * CodeSystem, ValueSet…) hold no patient's data: every authenticated principal may read them
 * (their scopes still bound it). Resources in the compartment are reachable only through a rule:
 * - family doctor: the whole record of patients with an active declaration with them (ADR 0005);
 * - specialist: the episodes they take part in or were referred to and what refers to those, plus
 *   the patient's safety data (Patient, allergies, active medications);
 * - nurse: the encounters of their organization, what refers to them, and those patients;
 * - pharmacist: a MedicationRequest only when searched by its prescription identifier, and its
 *   patient, masked to what dispensing needs;
 * - patient: their own compartment; proxy: what the patient granted them in a Consent;
 * - emergency: like a specialist, and everything under break-the-glass (purpose ETREAT);
 * - statistician, administrator: nothing patient-level;
 * - system client: the patients of its organization; a client bound to no organization is an
 *   integration the operator trusts with everything (the demo's admin client).
 * A patient's active `deny` Consent naming the practitioner or their organization overrides every
 * relationship rule (not the patient's own access, nor break-the-glass, which is audited instead).
 * Roles add up: a principal sees what any of its roles allows. A token whose reading scopes are all
 * `patient/` scopes is further kept inside its launch patient's record (scope-decision.ts).
 *
 * The relationships that are sets of patients (declarations, an organization's patients, proxy
 * grants, Consent denials) are resolved once per principal and kept until a write of the types
 * they are read from (relationship-snapshot.ts); the episode rules of specialists and nurses stay
 * subqueries of the statement.
 */
import { patientCompartmentDefinition } from '@concordia/fhir';
import type { FilterReader, ReadIntent, RowFilter, RowFilterSource } from '../store/row-filter.ts';
import { joinSql, type Sql, sql } from '../store/sql.ts';
import {
  NO_RELATIONSHIPS,
  needsNothing,
  RelationshipCache,
  type RelationshipCacheOptions,
  type RelationshipNeeds,
  type Relationships,
} from './relationship-snapshot.ts';
import {
  activeOf,
  episodePatients,
  organizationEncounters,
  practitionerEpisodes,
  prescriptionPatients,
  prescriptionsByIdentifier,
  splitReference,
} from './relationship-sql.ts';
import type { Principal, RequestContext } from './request-context.ts';
import type { Role } from './roles.ts';
import { confinedPatient } from './scope-decision.ts';

/** Elements a role may see of a resource type; the rest is masked (`_elements`-like). */
export type ElementMasks = ReadonlyMap<string, readonly string[]>;

export interface AccessDecision {
  /** `undefined`: every row. */
  rows?: RowFilter;
  masks: ElementMasks;
}

/** Types that hold one patient's data (compartmentdefinition-patient) and Binary (documents). */
let restrictedTypes: ReadonlySet<string> | undefined;

export function isPatientSpecific(resourceType: string): boolean {
  restrictedTypes ??= new Set([...patientCompartmentDefinition().memberTypes(), 'Binary']);
  return restrictedTypes.has(resourceType);
}

/** What dispensing needs of a Patient (issue 6: "the minimum patient data to dispense"). */
export const PHARMACIST_PATIENT_ELEMENTS = ['identifier', 'name', 'birthDate', 'gender'] as const;

/**
 * A condition on a compartment row: the rows of a role's rule, patient-specific types only;
 * `types`, when known, the types the row can be.
 */
type Rule = (row: Sql, types?: readonly string[]) => Sql;

type Reference = { type: string; id: string };

type TokenPrincipal = Extract<Principal, { kind: 'user' | 'client' }>;

const UNRESTRICTED: AccessDecision = { masks: new Map() };
const NO_MASKS: ElementMasks = new Map();
const PHARMACIST_MASKS: ElementMasks = new Map([['Patient', PHARMACIST_PATIENT_ELEMENTS]]);

/**
 * The store's `RowFilterSource` (store/row-filter.ts), handed to it by the composition root: one
 * per store, since the relationships it keeps are those of that store's database.
 */
export function createAccessRowFilter(options: RelationshipCacheOptions = {}): RowFilterSource {
  const cache = new RelationshipCache(options);
  return {
    filter(ctx, intent, reader) {
      const { principal } = ctx;
      if (principal.kind !== 'user' && principal.kind !== 'client') return decideAccess(ctx, intent).rows;
      if (unbounded(principal)) return undefined;
      return tokenFilter(cache, principal, ctx, intent, reader);
    },
    committed: (types) => cache.committed(types),
  };
}

async function tokenFilter(
  cache: RelationshipCache,
  principal: TokenPrincipal,
  ctx: RequestContext,
  intent: ReadIntent,
  reader: FilterReader,
): Promise<RowFilter | undefined> {
  const shape = shapeOf(principal, ctx);
  if (shape.everything) return ALL_ROWS;
  const { relationships, derived } = shape.resolvesNothing
    ? { relationships: NO_RELATIONSHIPS, derived: undefined }
    : await cache.get(shape.key, shape.needs, reader);
  const disclosed = principal.roles.includes('pharmacist') ? disclosedPrescriptions(intent) : [];
  // Pharmacist filters depend on the identifiers searched; those are not kept.
  if (disclosed.length > 0 || derived === undefined) return compile(shape, relationships, disclosed);
  // Per entry: a shape's filter lives exactly as long as the relationships it was compiled from.
  const kept = derived.get(shape.key);
  if (kept !== undefined) return kept as RowFilter;
  const rows = compile(shape, relationships, []);
  derived.set(shape.key, rows);
  return rows;
}

/**
 * The decision of one request as far as it can be taken without reading relationships: element
 * masks, and the row filter of principals who need none or of the given `relationships`.
 */
export function decideAccess(
  ctx: RequestContext,
  intent: ReadIntent,
  relationships: Relationships = NO_RELATIONSHIPS,
): AccessDecision {
  const { principal } = ctx;
  switch (principal.kind) {
    case 'open-development':
    case 'system':
      return UNRESTRICTED;
    case 'anonymous':
      return { rows: NO_ROWS, masks: NO_MASKS };
    case 'client':
    case 'user': {
      if (unbounded(principal)) return UNRESTRICTED;
      const masks = principal.roles.includes('pharmacist') ? PHARMACIST_MASKS : NO_MASKS;
      // The core asks every request for its masks: the filter is compiled only when asked for.
      return {
        masks,
        get rows(): RowFilter {
          const shape = shapeOf(principal, ctx);
          if (shape.everything) return ALL_ROWS;
          const disclosed = principal.roles.includes('pharmacist') ? disclosedPrescriptions(intent) : [];
          return compile(shape, relationships, disclosed);
        },
      };
    }
  }
}

/**
 * A client bound to no organization is an integration the operator trusts with every row — unless
 * its scopes keep it inside one patient's record.
 */
function unbounded(principal: TokenPrincipal): boolean {
  return (
    principal.kind === 'client' &&
    principal.organization === undefined &&
    confinedPatient(principal) === undefined
  );
}

/** What a principal's decision is built from; `key` names it in the caches. */
interface Shape {
  key: string;
  /** No relationship needs resolving (a patient, a statistician…). */
  resolvesNothing: boolean;
  /** Break-the-glass: every row. */
  everything: boolean;
  /** A client bound to no organization: every row its confinement leaves. */
  allPatients: boolean;
  needs: RelationshipNeeds;
  /** Practitioner of the episode rules (specialist, emergency without break-the-glass). */
  episodesOf?: Reference;
  /** Organization of the encounter rule (nurse). */
  encountersOf?: Reference;
  pharmacist: boolean;
  /** Patient role: their own compartment. */
  self?: Reference;
  /** Patient-only scopes: every row must be in this patient's compartment. */
  confinedTo?: string;
}

/** Per request context (a request may read several times): the shape is the same for all. */
const shapes = new WeakMap<RequestContext, Shape>();

function shapeOf(principal: TokenPrincipal, ctx: RequestContext): Shape {
  let shape = shapes.get(ctx);
  if (shape === undefined) {
    shape = buildShape(principal, ctx);
    shapes.set(ctx, shape);
  }
  return shape;
}

function buildShape(principal: TokenPrincipal, ctx: RequestContext): Shape {
  const fhirUser = splitReference(principal.kind === 'user' ? principal.fhirUser : undefined);
  const organization = splitReference(principal.organization);
  const practitioner = fhirUser?.type === 'Practitioner' ? fhirUser : undefined;
  const roles: readonly Role[] = principal.kind === 'user' ? principal.roles : [];
  const has = (role: Role) => roles.includes(role);
  const breakTheGlass = ctx.breakTheGlass !== undefined;
  // Break-the-glass (break-the-glass.ts): granted to the emergency role only, flagged on the context.
  const everything = has('emergency') && breakTheGlass;
  const declaredWith = has('family-doctor') ? practitioner : undefined;
  const episodesOf = has('specialist') || has('emergency') ? practitioner : undefined;
  const encountersOf = has('nurse') ? organization : undefined;
  const bound = principal.kind === 'client' ? organization : undefined;
  const self = has('patient') ? (fhirUser ?? patientReference(principal.patient)) : undefined;
  const proxy = has('proxy') && fhirUser?.type === 'RelatedPerson' ? fhirUser : undefined;
  const pharmacist = has('pharmacist');
  // Relationship rules give way to a patient's deny Consent naming the actor or their organization.
  const deniable =
    declaredWith !== undefined ||
    episodesOf !== undefined ||
    encountersOf !== undefined ||
    bound !== undefined ||
    pharmacist
      ? [fhirUser, organization].filter((actor) => actor !== undefined)
      : [];
  const confinedTo = confinedPatient(principal);
  const needs: RelationshipNeeds = {
    ...(declaredWith !== undefined ? { declaredWith } : {}),
    ...(bound !== undefined ? { organization: bound } : {}),
    ...(proxy !== undefined ? { proxy } : {}),
    deniable,
  };
  const key = JSON.stringify([
    principal.kind,
    roles,
    fhirUser,
    organization,
    self?.type === 'Patient' ? self.id : null,
    confinedTo ?? null,
    breakTheGlass,
  ]);
  return {
    key,
    resolvesNothing: needsNothing(needs),
    everything,
    allPatients: principal.kind === 'client' && organization === undefined,
    needs,
    ...(episodesOf !== undefined ? { episodesOf } : {}),
    ...(encountersOf !== undefined ? { encountersOf } : {}),
    pharmacist,
    ...(self?.type === 'Patient' ? { self } : {}),
    ...(confinedTo !== undefined ? { confinedTo } : {}),
  };
}

function compile(
  shape: Shape,
  relationships: Relationships,
  disclosed: readonly { system: string; code: string }[],
): RowFilter {
  const denyable: Rule[] = [];
  if (relationships.patients.size > 0) denyable.push(inPatients(relationships));
  if (shape.episodesOf !== undefined) denyable.push(episodeRule(shape.episodesOf));
  if (shape.encountersOf !== undefined) denyable.push(encounterRule(shape.encountersOf));
  if (disclosed.length > 0) denyable.push(prescriptionRule(disclosed));
  const rules: Rule[] = [];
  if (shape.allPatients) rules.push(() => sql`true`);
  if (denyable.length > 0) rules.push(withDenials(anyOf(denyable), relationships));
  const { self, confinedTo } = shape;
  if (self !== undefined) rules.push(inPatient(self.id));
  if (relationships.grants.size > 0) rules.push(proxyRule(relationships.grants));
  let rule = anyOf(rules);
  if (confinedTo !== undefined) {
    const reached = rule;
    const confined = inPatient(confinedTo);
    rule = (row, types) => sql`(${confined(row)} and ${reached(row, types)})`;
  }
  const judgedByCompartments =
    shape.episodesOf === undefined &&
    shape.encountersOf === undefined &&
    disclosed.length === 0 &&
    relationships.deniedLabels.length === 0;
  // A Patient row whose only way in is the reached patients is known by its id (patientRows).
  const judgedById =
    judgedByCompartments &&
    self === undefined &&
    relationships.grants.size === 0 &&
    confinedTo === undefined &&
    relationships.deniedPatients.length === 0;
  return {
    visible: visibleOf(rule).visible,
    ...(judgedByCompartments
      ? { visibleIn: inMemory(relationships, shape.allPatients, self?.id, confinedTo) }
      : {}),
    ...(judgedById ? { visibleById: byId(relationships, shape.allPatients) } : {}),
  };
}

function byId(
  relationships: Relationships,
  allPatients: boolean,
): (resourceType: string, id: string) => boolean | undefined {
  const { patientRows } = relationships;
  return (resourceType, id) => {
    if (!isPatientSpecific(resourceType) || allPatients) return true;
    return resourceType === 'Patient' ? patientRows.has(id) : undefined;
  };
}

/** The same decision as the SQL of `compile`, on a row's Patient compartments. */
function inMemory(
  relationships: Relationships,
  allPatients: boolean,
  self: string | undefined,
  confinedTo: string | undefined,
): (resourceType: string, patients: readonly string[]) => boolean {
  const { patients: reached, grants } = relationships;
  const denied = new Set(relationships.deniedPatients);
  return (resourceType, patients) => {
    if (!isPatientSpecific(resourceType)) return true;
    if (confinedTo !== undefined && !patients.includes(confinedTo)) return false;
    if (allPatients) return true;
    if (self !== undefined && patients.includes(self)) return true;
    for (const patient of patients) {
      const granted = grants.get(patient);
      if (granted !== undefined && (granted.has('*') || granted.has(resourceType))) return true;
    }
    return (
      patients.some((patient) => reached.has(patient)) && !patients.some((patient) => denied.has(patient))
    );
  };
}

function anyOf(rules: readonly Rule[]): Rule {
  if (rules.length === 0) return () => sql`false`;
  if (rules.length === 1) return rules[0] ?? (() => sql`false`);
  return (row, types) =>
    sql`(${joinSql(
      rules.map((r) => r(row, types)),
      ' or ',
    )})`;
}

function patientReference(patient: string | undefined): Reference | undefined {
  if (patient === undefined) return undefined;
  return splitReference(patient.includes('/') ? patient : `Patient/${patient}`);
}

const NO_ROWS: RowFilter = visibleOf(() => sql`false`);
const ALL_ROWS: RowFilter = { visible: () => sql`true`, visibleIn: () => true, visibleById: () => true };

/**
 * The rule for patient-specific rows, types outside the compartment let through. With the row's
 * possible types known (a type search, a read), the condition leaves out the half that cannot apply.
 */
function visibleOf(rule: Rule): RowFilter {
  return {
    visible(row, types) {
      if (types !== undefined) {
        const shared = types.filter((type) => !isPatientSpecific(type));
        if (shared.length === types.length) return sql`true`;
        const restricted = types.filter((type) => isPatientSpecific(type));
        if (shared.length === 0) return rule(row, restricted);
        return sql`(${row}.resource_type = any(${shared}::text[]) or ${rule(row, restricted)})`;
      }
      restrictedTypes ??= new Set([...patientCompartmentDefinition().memberTypes(), 'Binary']);
      return sql`(${row}.resource_type <> all(${[...restrictedTypes]}::text[]) or ${rule(row)})`;
    },
  };
}

/**
 * `true` when the query (`select true from …`) finds a row. A scalar subquery, not EXISTS, as in
 * store/search/search-statement.ts: the planner cannot turn it into a join, so it probes the rows
 * the search's own filters found (a name search's 250 Patients) instead of driving the search from
 * the decision's side (a family doctor's 1,000 patients): 66 ms → under 1 ms measured.
 */
function probe(query: Sql): Sql {
  return sql`coalesce((${query} limit 1), false)`;
}

/**
 * The row is in the compartment of one of the reached patients. A Patient row needs no compartment
 * lookup: the Patients in those compartments are known by id (`patientRowsLiteral`), so a name
 * search tests its matches against the set instead of probing an index for each.
 */
function inPatients(relationships: Relationships): Rule {
  const { patientsLiteral, patientRowsLiteral } = relationships;
  const patientRow = (row: Sql) => inSet(sql`${row}.id`, patientRowsLiteral);
  const member = (row: Sql) =>
    probe(sql`select true from compartment a_c
    where a_c.resource_type = ${row}.resource_type and a_c.id = ${row}.id
      and ${inSet(sql`a_c.patient_id`, patientsLiteral)}`);
  return (row, types) => {
    if (types === undefined) {
      return sql`(case when ${row}.resource_type = 'Patient' then ${patientRow(row)} else ${member(row)} end)`;
    }
    if (types.every((type) => type === 'Patient')) return patientRow(row);
    if (!types.includes('Patient')) return member(row);
    return sql`(case when ${row}.resource_type = 'Patient' then ${patientRow(row)} else ${member(row)} end)`;
  };
}

/**
 * `value` is one of the ids of a `text[]` literal. `= any` of the bound array, which the planner
 * holds as a constant and turns into a hash table built once per statement (PostgreSQL ≥ 14), and
 * `coalesce` around it so that it does not estimate the selectivity of each of the elements
 * against the column's statistics (7 ms of planning for 1,000 patients, PostgreSQL 15). The
 * hashed subplan used before, `(value in (select unnest(…))) is true`, cost 0.1–0.2 ms more of
 * database CPU per statement for 1,000 ids and 250 rows tested (docs/operations.md). A prepared
 * statement's generic plan (a read by id, store/resource-store.ts) compares with each element
 * instead: that tests one row.
 */
function inSet(value: Sql, literal: string): Sql {
  return sql`coalesce(${value} = any(${literal}::text[]), false)`;
}

/** The row is in one patient's compartment. */
function inPatient(patient: string): Rule {
  return (row) =>
    probe(sql`select true from compartment a_p
    where a_p.resource_type = ${row}.resource_type and a_p.id = ${row}.id and a_p.patient_id = ${patient}`);
}

/** Relationship rules, unless the patient's Consent denies the actor (whole record or labels). */
function withDenials(rule: Rule, relationships: Relationships): Rule {
  const { deniedPatients, deniedLabels } = relationships;
  const conditions: Rule[] = [rule];
  if (deniedPatients.length > 0) {
    conditions.push(
      (row) =>
        sql`not ${probe(sql`select true from compartment a_dc
      where a_dc.resource_type = ${row}.resource_type and a_dc.id = ${row}.id
        and a_dc.patient_id = any(${deniedPatients}::text[])`)}`,
    );
  }
  if (deniedLabels.length > 0) {
    const patients = deniedLabels.map((label) => label.patient);
    const systems = deniedLabels.map((label) => label.system);
    const codes = deniedLabels.map((label) => label.code);
    conditions.push(
      (row) =>
        sql`not ${probe(sql`select true from compartment a_lc
      join search_token a_sl on a_sl.resource_type = a_lc.resource_type and a_sl.id = a_lc.id
        and a_sl.param = '_security'
      where a_lc.resource_type = ${row}.resource_type and a_lc.id = ${row}.id
        and (a_lc.patient_id, a_sl.system, a_sl.code) in
          (select * from unnest(${patients}::text[], ${systems}::text[], ${codes}::text[]))`)}`,
    );
  }
  if (conditions.length === 1) return rule;
  return (row) =>
    sql`(${joinSql(
      conditions.map((condition) => condition(row)),
      ' and ',
    )})`;
}

/** Specialist: the episodes, what refers to them, and the patients' safety data. */
function episodeRule(practitioner: Reference): Rule {
  const episodes = practitionerEpisodes(practitioner);
  const safety = inCompartmentOf(episodePatients(episodes));
  return (row) => sql`((${row}.resource_type, ${row}.id) in (${episodes})
    or ${probe(sql`select true from search_reference a_x
      where a_x.resource_type = ${row}.resource_type and a_x.id = ${row}.id
        and (a_x.target_type, a_x.target_id) in (${episodes})`)}
    or ((${row}.resource_type in ('Patient', 'AllergyIntolerance')
        or (${row}.resource_type = 'MedicationRequest' and ${row}.id in (${activeOf('MedicationRequest')}))
        or (${row}.resource_type = 'MedicationStatement' and ${row}.id in (${activeOf('MedicationStatement')})))
      and ${safety(row)}))`;
}

/** The row is in the compartment of one of `patients` (a subquery of patient ids). */
function inCompartmentOf(patients: Sql): Rule {
  return (row) =>
    probe(sql`select true from compartment a_c
    where a_c.resource_type = ${row}.resource_type and a_c.id = ${row}.id and a_c.patient_id in (${patients})`);
}

/** Nurse: the organization's encounters, what refers to them, and their patients. */
function encounterRule(organization: Reference): Rule {
  const encounters = organizationEncounters(organization);
  return (row) => sql`((${row}.resource_type = 'Encounter' and ${row}.id in (${encounters}))
    or ${probe(sql`select true from search_reference a_x
      where a_x.resource_type = ${row}.resource_type and a_x.id = ${row}.id
        and a_x.target_type = 'Encounter' and a_x.target_id in (${encounters})`)}
    or (${row}.resource_type = 'Patient' and ${row}.id in (select a_ep.target_id from search_reference a_ep
      where a_ep.resource_type = 'Encounter' and a_ep.param = 'subject' and a_ep.target_type = 'Patient'
        and a_ep.id in (${encounters}))))`;
}

/** Pharmacist: the MedicationRequests searched by identifier, and their patients. */
function prescriptionRule(identifiers: readonly { system: string; code: string }[]): Rule {
  const prescriptions = prescriptionsByIdentifier(identifiers);
  return (row) => sql`((${row}.resource_type = 'MedicationRequest' and ${row}.id in (${prescriptions}))
    or (${row}.resource_type = 'Patient' and ${row}.id in (${prescriptionPatients(prescriptions)})))`;
}

/** Proxy: the compartment members the patients' permit Consents grant (all, or listed types). */
function proxyRule(grants: ReadonlyMap<string, ReadonlySet<string>>): Rule {
  const patients: string[] = [];
  const types: string[] = [];
  for (const [patient, granted] of grants) {
    for (const type of granted) {
      patients.push(patient);
      types.push(type);
    }
  }
  return (row) =>
    probe(sql`select true from compartment a_g
    where a_g.resource_type = ${row}.resource_type and a_g.id = ${row}.id
      and ((a_g.patient_id, '*') in (select * from unnest(${patients}::text[], ${types}::text[]))
        or (a_g.patient_id, a_g.resource_type) in (select * from unnest(${patients}::text[], ${types}::text[])))`);
}

/**
 * The prescription identifiers a MedicationRequest search names exactly (`identifier=system|value`):
 * the only door through which a pharmacist reaches a prescription.
 */
function disclosedPrescriptions(intent: ReadIntent): { system: string; code: string }[] {
  if (
    intent.kind !== 'search' ||
    intent.resourceTypes.length !== 1 ||
    intent.resourceTypes[0] !== 'MedicationRequest'
  ) {
    return [];
  }
  const found: { system: string; code: string }[] = [];
  for (const filter of intent.filters) {
    if (filter.kind !== 'token' || filter.code !== 'identifier' || filter.modifier !== undefined) continue;
    for (const value of filter.values) {
      if (typeof value.system === 'string' && value.system !== '' && value.code !== undefined) {
        found.push({ system: value.system, code: value.code });
      }
    }
  }
  return found;
}
