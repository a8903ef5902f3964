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
 * - specialist: the episodes they take part in or were referred to (as themselves, one of their
 *   active PractitionerRoles or a member of an active CareTeam) and what refers to those, plus the
 *   patient's safety data (Patient, allergies, active medications);
 * - nurse: the encounters of their organization (the token's, their PractitionerRoles'), what
 *   refers to them, and those patients;
 * - pharmacist: a MedicationRequest only when searched by its prescription identifier, and its
 *   patient, masked to what dispensing needs;
 * - patient: their own compartment; proxy: what the patient granted them in a Consent;
 * - emergency: like a specialist, and everything under break-the-glass (purpose ETREAT);
 * - statistician, administrator: nothing patient-level;
 * - system client: the patients of its organization; a client bound to no organization is an
 *   integration the operator trusts with everything (the demo's admin client).
 * A patient's active Consent denying the practitioner (or a role, team or organization they act
 * as) data — the whole record, resource types, labels, codes, resources, a period of clinical
 * time, for some purposes of use, with nested exceptions (consent-provisions.ts, compiled by
 * consent-rules.ts) — overrides every relationship rule and a proxy's grant; one naming no actor
 * (an opt-out for everyone) overrides every relationship rule. Neither binds the patient's own
 * access, nor break-the-glass, which is audited instead.
 * Roles add up: a principal sees what any of its roles allows. A token whose reading scopes are all
 * `patient/` scopes is further kept inside its launch patient's record (scope-decision.ts).
 *
 * The relationships that are sets of patients (declarations, an organization's patients, proxy
 * grants, Consent denials and opt-outs) and who a practitioner acts as (roles, care teams) are resolved once per
 * principal and kept until a write of the types they are read from (relationship-snapshot.ts); the
 * episode rules of specialists and nurses stay subqueries of the statement, over those actors.
 */
import { patientCompartmentDefinition } from '@concordia/fhir';
import type { FilterReader, ReadIntent, RowFilter, RowFilterSource } from '../store/row-filter.ts';
import { joinSql, type Sql, sql } from '../store/sql.ts';
import { EMERGENCY_TREATMENT } from './break-the-glass.ts';
import type { ConsentAction } from './consent-provisions.ts';
import { bothDenials, denialsFor, denialsOf, withDenials } from './consent-rules.ts';
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
  type EpisodeActors,
  episodePatients,
  organizationEncounters,
  practitionerEpisodes,
  prescriptionPatients,
  prescriptionsByIdentifier,
  splitReference,
} from './relationship-sql.ts';
import type { Principal, RequestContext } from './request-context.ts';
import type { Role } from './roles.ts';
import { probe, type Rule } from './row-rule.ts';
import { confinedPatient } from './scope-decision.ts';
import { withScopeRestrictions } from './scope-row-filter.ts';

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
  // SMART v2 query-restricted scopes narrow every decision further (scope-row-filter.ts).
  return withScopeRestrictions({
    filter(ctx, intent, reader) {
      const { principal } = ctx;
      if (principal.kind !== 'user' && principal.kind !== 'client') return decideAccess(ctx, intent).rows;
      if (unbounded(principal)) return undefined;
      return tokenFilter(cache, principal, ctx, intent, reader);
    },
    committed: (types) => cache.committed(types),
  });
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
  const action = consentActionOf(intent);
  if (disclosed.length > 0 || derived === undefined) return compile(shape, relationships, disclosed, action);
  // Per entry: a shape's filter lives exactly as long as the relationships it was compiled from;
  // Consents may say something to one purpose of use, or one action, and not another.
  const key = `${shape.key} ${shape.purpose} ${action}`;
  const kept = derived.get(key);
  if (kept !== undefined) return kept as RowFilter;
  const rows = compile(shape, relationships, [], action);
  derived.set(key, rows);
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
          return compile(shape, relationships, disclosed, consentActionOf(intent));
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
  /** Nurse: the encounter rule, over `encountersOf` and their PractitionerRoles' organizations. */
  nurse: boolean;
  /** The organization of the nurse's token. */
  encountersOf?: Reference;
  pharmacist: boolean;
  /** Patient role: their own compartment. */
  self?: Reference;
  /** Patient-only scopes: every row must be in this patient's compartment. */
  confinedTo?: string;
  /** The request's purpose of use: a Consent provision may apply to some purposes only. */
  purpose: string;
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
  const nurse = has('nurse');
  const encountersOf = nurse ? organization : undefined;
  const bound = principal.kind === 'client' ? organization : undefined;
  const self = has('patient') ? (fhirUser ?? patientReference(principal.patient)) : undefined;
  const proxy = has('proxy') && fhirUser?.type === 'RelatedPerson' ? fhirUser : undefined;
  const pharmacist = has('pharmacist');
  // Relationship rules give way to a patient's deny Consent naming the actor or their organization.
  const deniable =
    declaredWith !== undefined || episodesOf !== undefined || nurse || bound !== undefined || pharmacist
      ? [fhirUser, organization].filter((actor) => actor !== undefined)
      : [];
  const confinedTo = confinedPatient(principal);
  // A practitioner also acts through their PractitionerRoles and CareTeams (relationship-sql.ts).
  const actsThroughRoles = practitioner !== undefined && (deniable.length > 0 || episodesOf !== undefined);
  const needs: RelationshipNeeds = {
    ...(declaredWith !== undefined ? { declaredWith } : {}),
    ...(bound !== undefined ? { organization: bound } : {}),
    ...(proxy !== undefined ? { proxy } : {}),
    deniable,
    ...(actsThroughRoles ? { practitioner } : {}),
    ...(episodesOf !== undefined ? { episodes: true } : {}),
    ...(nurse && practitioner !== undefined ? { roleOrganizations: true } : {}),
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
    nurse,
    ...(encountersOf !== undefined ? { encountersOf } : {}),
    pharmacist,
    ...(self?.type === 'Patient' ? { self } : {}),
    ...(confinedTo !== undefined ? { confinedTo } : {}),
    // X-Purpose-Of-Use (break-the-glass.ts); treatment when the request names none.
    purpose: ctx.purposeOfUse ?? (breakTheGlass ? EMERGENCY_TREATMENT : 'TREAT'),
  };
}

function compile(
  shape: Shape,
  relationships: Relationships,
  disclosed: readonly { system: string; code: string }[],
  action: ConsentAction,
): RowFilter {
  const denyable: Rule[] = [];
  if (relationships.patients.size > 0) denyable.push(inPatients(relationships));
  if (shape.episodesOf !== undefined) {
    denyable.push(episodeRule(relationships.episodeActors ?? onlyThemselves(shape.episodesOf)));
  }
  const wards = shape.nurse ? nurseOrganizations(shape.encountersOf, relationships.roleOrganizations) : [];
  if (wards.length > 0) denyable.push(encounterRule(wards));
  if (disclosed.length > 0) denyable.push(prescriptionRule(disclosed));
  // The Consents naming the principal bind every rule but their own record; opt-outs for everyone
  // bind the relationship rules only, not a proxy's grant.
  const named = denialsFor(relationships, shape.purpose, action);
  // Opt-outs are every patient's: when the rules reach known patients only, those of the others
  // have nothing to deny, and a principal none of whose patients opted out keeps the statement
  // it had without them.
  const reachesKnownPatientsOnly =
    shape.episodesOf === undefined && wards.length === 0 && disclosed.length === 0;
  const optOuts = denialsFor(
    reachesKnownPatientsOnly
      ? denialsOf(relationships.optOuts, relationships.patients)
      : relationships.optOuts,
    shape.purpose,
    action,
  );
  const denials = bothDenials(named, optOuts);
  const rules: Rule[] = [];
  if (shape.allPatients) rules.push(() => sql`true`);
  if (denyable.length > 0) rules.push(withDenials(anyOf(denyable), denials));
  const { self, confinedTo } = shape;
  if (self !== undefined) rules.push(inPatient(self.id));
  if (relationships.grants.size > 0) rules.push(withDenials(proxyRule(relationships.grants), named));
  let rule = anyOf(rules);
  if (confinedTo !== undefined) {
    const reached = rule;
    const confined = inPatient(confinedTo);
    rule = (row, types) => sql`(${confined(row)} and ${reached(row, types)})`;
  }
  const judgedByCompartments =
    shape.episodesOf === undefined &&
    wards.length === 0 &&
    disclosed.length === 0 &&
    denials.deniedLabels.length === 0 &&
    denials.scopedDenials.length === 0;
  // A Patient row whose only way in is the reached patients is known by its id (patientRows).
  const judgedById =
    judgedByCompartments &&
    self === undefined &&
    relationships.grants.size === 0 &&
    confinedTo === undefined &&
    denials.deniedPatients.length === 0;
  return {
    visible: visibleOf(rule).visible,
    ...(judgedByCompartments
      ? {
          visibleIn: inMemory(
            relationships,
            named.deniedPatients,
            optOuts.deniedPatients,
            shape.allPatients,
            self?.id,
            confinedTo,
          ),
        }
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
  deniedPatients: readonly string[],
  optedOut: readonly string[],
  allPatients: boolean,
  self: string | undefined,
  confinedTo: string | undefined,
): (resourceType: string, patients: readonly string[]) => boolean {
  const { patients: reached, grants } = relationships;
  const denied = new Set(deniedPatients);
  const optOuts = new Set(optedOut);
  return (resourceType, patients) => {
    if (!isPatientSpecific(resourceType)) return true;
    if (confinedTo !== undefined && !patients.includes(confinedTo)) return false;
    if (allPatients) return true;
    if (self !== undefined && patients.includes(self)) return true;
    if (patients.some((patient) => denied.has(patient))) return false;
    for (const patient of patients) {
      const granted = grants.get(patient);
      if (granted !== undefined && (granted.has('*') || granted.has(resourceType))) return true;
    }
    if (patients.some((patient) => optOuts.has(patient))) return false;
    return patients.some((patient) => reached.has(patient));
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

/** The episode rules' actors before their roles and teams are resolved: the practitioner alone. */
function onlyThemselves(practitioner: Reference): EpisodeActors {
  return { types: [practitioner.type], ids: [practitioner.id], encounters: [], episodes: [] };
}

/** Specialist: the episodes, what refers to them, and the patients' safety data. */
function episodeRule(actors: EpisodeActors): Rule {
  const episodes = practitionerEpisodes(actors);
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

/** The token's organization and those of the nurse's active PractitionerRoles, each once. */
function nurseOrganizations(token: Reference | undefined, roles: readonly Reference[]): Reference[] {
  const organizations = new Map<string, Reference>();
  for (const organization of [...(token !== undefined ? [token] : []), ...roles]) {
    organizations.set(`${organization.type}/${organization.id}`, organization);
  }
  return [...organizations.values()];
}

/** Nurse: the organizations' encounters, what refers to them, and their patients. */
function encounterRule(organizations: readonly Reference[]): Rule {
  const encounters = organizationEncounters(organizations);
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

/** What a request does, as a Consent's `provision.action` names it (consent-provisions.ts). */
function consentActionOf(intent: ReadIntent): ConsentAction {
  return intent.kind === 'write' ? intent.action : 'read';
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
