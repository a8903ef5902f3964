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
 * Roles add up: a principal sees what any of its roles allows.
 */
import { patientCompartmentDefinition } from '@concordia/fhir';
import type { ReadIntent, RowFilter, RowFilterSource } from '../store/row-filter.ts';
import { joinSql, type Sql, sql } from '../store/sql.ts';
import {
  activeOf,
  consentDeniedLabels,
  consentDeniedPatients,
  declaredPatients,
  episodePatients,
  organizationEncounters,
  organizationPatients,
  practitionerEpisodes,
  prescriptionPatients,
  prescriptionsByIdentifier,
  proxyGrants,
  splitReference,
} from './relationship-sql.ts';
import type { Principal, RequestContext } from './request-context.ts';
import type { Role } from './roles.ts';

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

/** A condition on a compartment row: the rows of a role's rule, patient-specific types only. */
type Rule = (row: Sql) => Sql;

const UNRESTRICTED: AccessDecision = { masks: new Map() };
const NO_MASKS: ElementMasks = new Map();

/** The decision for one request; the rules of a principal are compiled once and cached. */
export function decideAccess(ctx: RequestContext, intent: ReadIntent): AccessDecision {
  const { principal } = ctx;
  switch (principal.kind) {
    case 'open-development':
    case 'system':
      return UNRESTRICTED;
    case 'anonymous':
      return { rows: rowFilter(() => sql`false`, false), masks: NO_MASKS };
    case 'client':
      if (principal.organization === undefined) return UNRESTRICTED;
      return compiled(principal, ctx, intent);
    case 'user':
      return compiled(principal, ctx, intent);
  }
}

/** The store's `RowFilterSource` (store/row-filter.ts), handed to it by the composition root. */
export const accessRowFilter: RowFilterSource = (ctx, intent) => decideAccess(ctx, intent).rows;

type TokenPrincipal = Extract<Principal, { kind: 'user' | 'client' }>;

const CACHE_LIMIT = 1000;
const cache = new Map<string, AccessDecision>();

function compiled(principal: TokenPrincipal, ctx: RequestContext, intent: ReadIntent): AccessDecision {
  const disclosed = principal.roles.includes('pharmacist') ? disclosedPrescriptions(intent) : [];
  // Pharmacist decisions depend on the identifiers searched; those are not cached.
  if (disclosed.length > 0) return build(principal, ctx, disclosed);
  const key = JSON.stringify([
    principal.kind,
    principal.id,
    principal.roles,
    principal.kind === 'user' ? principal.fhirUser : undefined,
    principal.organization,
    principal.patient,
    ctx.breakTheGlass !== undefined,
  ]);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const decision = build(principal, ctx, []);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value ?? key);
  cache.set(key, decision);
  return decision;
}

function build(
  principal: TokenPrincipal,
  ctx: RequestContext,
  disclosed: readonly { system: string; code: string }[],
): AccessDecision {
  const fhirUser = splitReference(principal.kind === 'user' ? principal.fhirUser : undefined);
  const organization = splitReference(principal.organization);
  const actors = [fhirUser, organization].filter((actor) => actor !== undefined);
  const rules: Rule[] = [];
  let everything = false;
  const masks = new Map<string, readonly string[]>();
  if (principal.kind === 'client') {
    if (organization !== undefined)
      rules.push(denyable(inCompartmentOf(organizationPatients(organization)), actors));
  }
  const roles: readonly Role[] = principal.kind === 'user' ? principal.roles : [];
  for (const role of roles) {
    switch (role) {
      case 'family-doctor':
        if (fhirUser?.type === 'Practitioner') {
          rules.push(denyable(inCompartmentOf(declaredPatients(fhirUser)), actors));
        }
        break;
      case 'specialist':
        if (fhirUser?.type === 'Practitioner') rules.push(denyable(episodeRule(fhirUser), actors));
        break;
      case 'emergency':
        // Break-the-glass (break-the-glass.ts): granted to this role only, flagged on the context.
        if (ctx.breakTheGlass !== undefined) everything = true;
        else if (fhirUser?.type === 'Practitioner') rules.push(denyable(episodeRule(fhirUser), actors));
        break;
      case 'nurse':
        if (organization !== undefined) rules.push(denyable(encounterRule(organization), actors));
        break;
      case 'pharmacist':
        masks.set('Patient', PHARMACIST_PATIENT_ELEMENTS);
        if (disclosed.length > 0) rules.push(denyable(prescriptionRule(disclosed), actors));
        break;
      case 'patient': {
        const self = fhirUser ?? patientReference(principal.patient);
        if (self?.type === 'Patient') rules.push(inCompartmentOf(sql`select ${self.id}::text`));
        break;
      }
      case 'proxy':
        if (fhirUser?.type === 'RelatedPerson') rules.push(proxyRule(fhirUser));
        break;
      case 'statistician':
      case 'administrator':
      case 'system':
        break;
    }
  }
  if (everything) return { rows: rowFilter(() => sql`true`, true), masks };
  const rule: Rule =
    rules.length === 0
      ? () => sql`false`
      : (row) =>
          sql`(${joinSql(
            rules.map((r) => r(row)),
            ' or ',
          )})`;
  return { rows: rowFilter(rule, false), masks };
}

function patientReference(patient: string | undefined): { type: string; id: string } | undefined {
  if (patient === undefined) return undefined;
  return splitReference(patient.includes('/') ? patient : `Patient/${patient}`);
}

/**
 * The rule for patient-specific rows, types outside the compartment let through. With the row's
 * possible types known (a type search, a read), the condition leaves out the half that cannot apply.
 */
function rowFilter(rule: Rule, allPatientData: boolean): RowFilter {
  return {
    visible(row, types) {
      if (allPatientData) return sql`true`;
      if (types !== undefined) {
        const shared = types.filter((type) => !isPatientSpecific(type));
        if (shared.length === types.length) return sql`true`;
        if (shared.length === 0) return rule(row);
        return sql`(${row}.resource_type = any(${shared}::text[]) or ${rule(row)})`;
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

/** The row is in the compartment of one of `patients` (a subquery of patient ids). */
function inCompartmentOf(patients: Sql): Rule {
  return (row) =>
    probe(sql`select true from compartment a_c
    where a_c.resource_type = ${row}.resource_type and a_c.id = ${row}.id and a_c.patient_id in (${patients})`);
}

/** A relationship rule, unless the patient's Consent denies one of `actors` (whole record or labels). */
function denyable(rule: Rule, actors: readonly { type: string; id: string }[]): Rule {
  if (actors.length === 0) return rule;
  return (row) => sql`(${rule(row)}
    and not ${probe(sql`select true from compartment a_dc
      where a_dc.resource_type = ${row}.resource_type and a_dc.id = ${row}.id
        and a_dc.patient_id in (${consentDeniedPatients(actors)})`)}
    and not ${probe(sql`select true from compartment a_lc
      join search_token a_sl on a_sl.resource_type = a_lc.resource_type and a_sl.id = a_lc.id
        and a_sl.param = '_security'
      where a_lc.resource_type = ${row}.resource_type and a_lc.id = ${row}.id
        and (a_lc.patient_id, a_sl.system, a_sl.code) in (${consentDeniedLabels(actors)})`)})`;
}

/** Specialist: the episodes, what refers to them, and the patients' safety data. */
function episodeRule(practitioner: { type: string; id: string }): Rule {
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

/** Nurse: the organization's encounters, what refers to them, and their patients. */
function encounterRule(organization: { type: string; id: string }): Rule {
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

/** Proxy: the compartment members the patient's permit Consents grant (all, or listed types). */
function proxyRule(proxy: { type: string; id: string }): Rule {
  const grants = proxyGrants(proxy);
  return (row) =>
    probe(sql`select true from compartment a_c
    where a_c.resource_type = ${row}.resource_type and a_c.id = ${row}.id
      and ((a_c.patient_id, '*') in (select a_g.patient_id, a_g.resource_type from (${grants}) a_g)
        or (a_c.patient_id, a_c.resource_type) in (select a_g.patient_id, a_g.resource_type from (${grants}) a_g))`);
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
