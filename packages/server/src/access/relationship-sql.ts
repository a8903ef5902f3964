/**
 * The relationships of DESIGN.md D6 as SQL over the store's search index (store/index-tables.ts):
 * each function is an uncorrelated subquery — a set of patient ids or of (type, id) pairs — so the
 * database computes it once per statement (a hashed subplan) instead of once per row, and a
 * relationship costs no round trip of its own. Relationships are read from the index rows of
 * current resources only: a deleted declaration or consent stops counting the moment it is deleted.
 */
import { joinSql, type Sql, sql } from '../store/sql.ts';

/** EpisodeOfCare.type of a family doctor's declaration (ADR 0005). */
export const DECLARATION_TYPE = {
  system: 'https://concordia.example/fhir/CodeSystem/episode-of-care-type',
  code: 'declaration',
} as const;

/** `type/id` of a reference (`Practitioner/p-1`), split; undefined for anything else. */
export function splitReference(reference: string | undefined): { type: string; id: string } | undefined {
  // Relative (`Practitioner/p-1`) or absolute (SMART's fhirUser: `https://…/fhir/Practitioner/p-1`).
  const match =
    reference === undefined ? null : /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  return match?.[1] === undefined || match[2] === undefined ? undefined : { type: match[1], id: match[2] };
}

/** Ids of `resourceType` resources whose reference parameter `param` points at `target`. */
function referrers(resourceType: string, param: string, target: { type: string; id: string }): Sql {
  return sql`select a_ref.id from search_reference a_ref
    where a_ref.resource_type = ${resourceType} and a_ref.param = ${param}
      and a_ref.target_id = ${target.id} and a_ref.target_type = ${target.type}`;
}

/** Ids of `resourceType` resources with a token `param` of `code` (and `system`, when given). */
function withToken(resourceType: string, param: string, code: string, system?: string): Sql {
  const bySystem = system === undefined ? sql`` : sql` and a_tok.system = ${system}`;
  return sql`select a_tok.id from search_token a_tok
    where a_tok.resource_type = ${resourceType} and a_tok.param = ${param} and a_tok.code = ${code}${bySystem}`;
}

/** The Patient ids that resources of `resourceType` in `ids` refer to through `param`. */
function patientsOf(resourceType: string, param: string, ids: Sql): Sql {
  return sql`select a_pat.target_id from search_reference a_pat
    where a_pat.resource_type = ${resourceType} and a_pat.param = ${param} and a_pat.target_type = 'Patient'
      and a_pat.id in (${ids})`;
}

/** Active declarations: EpisodeOfCare of the declaration type with status `active`. */
function activeDeclarations(): Sql {
  return sql`select a_decl.id from search_token a_decl
    where a_decl.resource_type = 'EpisodeOfCare' and a_decl.param = 'type'
      and a_decl.code = ${DECLARATION_TYPE.code} and a_decl.system = ${DECLARATION_TYPE.system}
      and a_decl.id in (${withToken('EpisodeOfCare', 'status', 'active')})`;
}

/** Patients with an active declaration whose care manager is `practitioner` (family doctor). */
export function declaredPatients(practitioner: { type: string; id: string }): Sql {
  const declarations = sql`select a_cm.id from search_reference a_cm
    where a_cm.resource_type = 'EpisodeOfCare' and a_cm.param = 'care-manager'
      and a_cm.target_id = ${practitioner.id} and a_cm.target_type = ${practitioner.type}
      and a_cm.id in (${activeDeclarations()})`;
  return patientsOf('EpisodeOfCare', 'patient', declarations);
}

/** Patients with a relationship to an organization: managed by it, in its episodes or encounters. */
export function organizationPatients(organization: { type: string; id: string }): Sql {
  return sql`select a_po.id from search_reference a_po
      where a_po.resource_type = 'Patient' and a_po.param = 'organization'
        and a_po.target_id = ${organization.id} and a_po.target_type = ${organization.type}
    union all ${patientsOf('EpisodeOfCare', 'patient', referrers('EpisodeOfCare', 'organization', organization))}
    union all ${patientsOf('Encounter', 'patient', referrers('Encounter', 'service-provider', organization))}`;
}

/** Encounters an organization provided (Encounter.serviceProvider): what a nurse's ward holds. */
export function organizationEncounters(organization: { type: string; id: string }): Sql {
  return referrers('Encounter', 'service-provider', organization);
}

/**
 * The episodes a practitioner takes part in, as (type, id): EpisodeOfCare they manage (other than
 * declarations), Encounters they participate in, referrals (ServiceRequest) addressed to them with
 * the encounter and the episode (EpisodeOfCare.referralRequest) that came of them, and the
 * encounters of every such episode.
 */
export function practitionerEpisodes(practitioner: { type: string; id: string }): Sql {
  const referrals = referrers('ServiceRequest', 'performer', practitioner);
  const managed = sql`select a_me.id from search_reference a_me
    where a_me.resource_type = 'EpisodeOfCare' and a_me.param = 'care-manager'
      and a_me.target_id = ${practitioner.id} and a_me.target_type = ${practitioner.type}
      and a_me.id not in (${activeDeclarations()})`;
  const referred = sql`select a_ir.id from search_reference a_ir
    where a_ir.resource_type = 'EpisodeOfCare' and a_ir.param = 'incoming-referral'
      and a_ir.target_type = 'ServiceRequest' and a_ir.target_id in (${referrals})`;
  const episodes = sql`${managed} union all ${referred}`;
  const branches = [
    sql`select 'EpisodeOfCare', a_ep.id from (${episodes}) a_ep (id)`,
    sql`select 'Encounter', a_en.id from search_reference a_en
      where a_en.resource_type = 'Encounter' and a_en.param = 'participant'
        and a_en.target_id = ${practitioner.id} and a_en.target_type = ${practitioner.type}`,
    sql`select 'ServiceRequest', a_sr.id from (${referrals}) a_sr (id)`,
    sql`select a_se.target_type, a_se.target_id from search_reference a_se
      where a_se.resource_type = 'ServiceRequest' and a_se.param = 'encounter' and a_se.id in (${referrals})`,
    sql`select 'Encounter', a_ee.id from search_reference a_ee
      where a_ee.resource_type = 'Encounter' and a_ee.param = 'episode-of-care'
        and a_ee.target_type = 'EpisodeOfCare' and a_ee.target_id in (${episodes})`,
  ];
  return joinSql(branches, ' union all ');
}

/** The patients of a set of (type, id) episodes, through their `patient`/`subject` reference. */
export function episodePatients(episodes: Sql): Sql {
  return sql`select a_ept.target_id from search_reference a_ept
    where a_ept.param in ('patient', 'subject') and a_ept.target_type = 'Patient'
      and (a_ept.resource_type, a_ept.id) in (${episodes})`;
}

/** Active Consents whose top-level provision is of `type` and names one of `actors`. */
function consentsFor(actors: readonly { type: string; id: string }[], type: 'permit' | 'deny'): Sql {
  const actorTypes = actors.map((actor) => actor.type);
  const actorIds = actors.map((actor) => actor.id);
  return sql`select a_con.id, a_con.content::jsonb -> 'provision' as provision from resource a_con
    where a_con.resource_type = 'Consent' and not a_con.deleted
      and a_con.id in (select a_act.id from search_reference a_act
        where a_act.resource_type = 'Consent' and a_act.param = 'actor'
          and (a_act.target_type, a_act.target_id) in (select * from unnest(${actorTypes}::text[], ${actorIds}::text[])))
      and a_con.id in (${withToken('Consent', 'status', 'active')})
      and a_con.content::jsonb -> 'provision' ->> 'type' = ${type}`;
}

/**
 * Patients who deny the actors their whole record: an active Consent with a top-level `deny`
 * provision naming one of them and no security label (a labelled deny hides only labelled data).
 */
export function consentDeniedPatients(actors: readonly { type: string; id: string }[]): Sql {
  return patientsOf(
    'Consent',
    'patient',
    sql`select a_dn.id from (${consentsFor(actors, 'deny')}) a_dn
      where coalesce(jsonb_array_length(a_dn.provision -> 'securityLabel'), 0) = 0`,
  );
}

/**
 * (patient, label system, label code) the actors are denied: an active `deny` Consent that lists
 * security labels (provision.securityLabel) hides the patient's resources carrying one of them.
 */
export function consentDeniedLabels(actors: readonly { type: string; id: string }[]): Sql {
  return sql`select a_cp.target_id, a_lab ->> 'system', a_lab ->> 'code'
    from (${consentsFor(actors, 'deny')}) a_dl
    join search_reference a_cp on a_cp.resource_type = 'Consent' and a_cp.id = a_dl.id
      and a_cp.param = 'patient' and a_cp.target_type = 'Patient'
    cross join jsonb_array_elements(a_dl.provision -> 'securityLabel') a_lab`;
}

/**
 * What a patient granted a proxy (RelatedPerson): (patient, resource type or `*`) from active
 * Consents with a `permit` provision naming the proxy; `provision.class` codes narrow the grant to
 * those resource types.
 */
export function proxyGrants(proxy: { type: string; id: string }): Sql {
  return sql`select a_gp.target_id as patient_id, coalesce(a_cls ->> 'code', '*') as resource_type
    from (${consentsFor([proxy], 'permit')}) a_gr
    join search_reference a_gp on a_gp.resource_type = 'Consent' and a_gp.id = a_gr.id
      and a_gp.param = 'patient' and a_gp.target_type = 'Patient'
    left join lateral jsonb_array_elements(
      case jsonb_typeof(a_gr.provision -> 'class') when 'array' then a_gr.provision -> 'class' else '[]'::jsonb end
    ) a_cls on true`;
}

/** MedicationRequests carrying one of the prescription identifiers (system, value). */
export function prescriptionsByIdentifier(identifiers: readonly { system: string; code: string }[]): Sql {
  return sql`select a_rx.id from search_token a_rx
    where a_rx.resource_type = 'MedicationRequest' and a_rx.param = 'identifier'
      and (a_rx.system, a_rx.code) in (select * from unnest(
        ${identifiers.map((identifier) => identifier.system)}::text[],
        ${identifiers.map((identifier) => identifier.code)}::text[]))`;
}

/** The subjects of MedicationRequests. */
export function prescriptionPatients(prescriptions: Sql): Sql {
  return patientsOf('MedicationRequest', 'subject', prescriptions);
}

/** Ids of `resourceType` resources with status `active` (safety data: current medications). */
export function activeOf(resourceType: string): Sql {
  return withToken(resourceType, 'status', 'active');
}
