/**
 * The relationships of DESIGN.md D6 as SQL over the store's search index (store/index-tables.ts):
 * each function is an uncorrelated subquery — a set of patient ids or of (type, id) pairs — so the
 * database computes it once per statement (a hashed subplan) instead of once per row, and a
 * relationship costs no round trip of its own. Relationships are read from the index rows of
 * current resources only: a deleted declaration or consent stops counting the moment it is deleted.
 * Where R4 indexes no parameter for an element the rules need (CareTeam.participant.period,
 * EpisodeOfCare.team, a nested Consent provision), the stored content of the few resources the
 * index does find is read — in the per-principal statement of relationship-snapshot.ts only.
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

/**
 * Patients with an active declaration whose care manager is `practitioner` (family doctor) or, when
 * given, one of their active PractitionerRoles (`roles`, a query of ids). `care-manager` indexes
 * only Practitioner references: a role's is read from the content of the declarations the
 * `_content` index finds mentioning it, as `careTeamEpisodes` does.
 */
export function declaredPatients(practitioner: { type: string; id: string }, roles?: Sql): Sql {
  let declarations = sql`select a_cm.id from search_reference a_cm
    where a_cm.resource_type = 'EpisodeOfCare' and a_cm.param = 'care-manager'
      and a_cm.target_id = ${practitioner.id} and a_cm.target_type = ${practitioner.type}
      and a_cm.id in (${activeDeclarations()})`;
  if (roles !== undefined) {
    const targets = sql`select 'PractitionerRole', a_dr.id from (${roles}) a_dr (id)`;
    declarations = sql`${declarations}
    union all select a_rd.id from (${mentioning('EpisodeOfCare', targets)}) a_rdc (id)
      join resource a_rd on a_rd.resource_type = 'EpisodeOfCare' and a_rd.id = a_rdc.id
      where not a_rd.deleted and a_rd.id in (${activeDeclarations()})
        and a_rd.content::jsonb -> 'careManager' ->> 'reference'
          in (select 'PractitionerRole/' || a_dri.id from (${roles}) a_dri (id))`;
  }
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

/** Encounters the organizations provided (Encounter.serviceProvider): what a nurse's wards hold. */
export function organizationEncounters(organizations: readonly { type: string; id: string }[]): Sql {
  const [only] = organizations;
  if (organizations.length === 1 && only !== undefined)
    return referrers('Encounter', 'service-provider', only);
  return sql`select a_sp.id from search_reference a_sp
    where a_sp.resource_type = 'Encounter' and a_sp.param = 'service-provider'
      and (a_sp.target_type, a_sp.target_id) in (select * from unnest(
        ${organizations.map((organization) => organization.type)}::text[],
        ${organizations.map((organization) => organization.id)}::text[]))`;
}

/** The organizations of PractitionerRoles (`roles` a query of ids), as (type, id). */
export function roleOrganizations(roles: Sql): Sql {
  return sql`select a_ro.target_type, a_ro.target_id from search_reference a_ro
    where a_ro.resource_type = 'PractitionerRole' and a_ro.param = 'organization' and a_ro.id in (${roles})`;
}

/**
 * Who a practitioner acts as, resolved once per principal (relationship-snapshot.ts): their
 * Practitioner, active PractitionerRoles and CareTeams, as parallel `types`/`ids`; and what their
 * CareTeams add that the index cannot find by reference (the teams' encounters, the episodes whose
 * `team` or PractitionerRole `careManager` is theirs).
 */
export interface EpisodeActors {
  types: readonly string[];
  ids: readonly string[];
  encounters: readonly string[];
  episodes: readonly string[];
}

/** `(type, id)` columns point at one of the actors. */
function targetsOneOf(type: Sql, id: Sql, actors: EpisodeActors): Sql {
  const [onlyType] = actors.types;
  const [onlyId] = actors.ids;
  // One actor (no role, no team): the equality the index serves, as before roles were read.
  if (actors.ids.length === 1 && onlyType !== undefined && onlyId !== undefined) {
    return sql`${id} = ${onlyId} and ${type} = ${onlyType}`;
  }
  return sql`(${type}, ${id}) in (select * from unnest(${actors.types}::text[], ${actors.ids}::text[]))`;
}

/**
 * The episodes a practitioner takes part in, as (type, id): EpisodeOfCare they (or one of their
 * roles) manage, other than declarations, or whose team is theirs; Encounters they participate in
 * (as themselves or a role) or their CareTeams are for; referrals (ServiceRequest) addressed to
 * them, a role or a team, with the encounter and the episode (EpisodeOfCare.referralRequest) that
 * came of them; and the encounters of every such episode.
 */
export function practitionerEpisodes(actors: EpisodeActors): Sql {
  const referrals = sql`select a_ref.id from search_reference a_ref
    where a_ref.resource_type = 'ServiceRequest' and a_ref.param = 'performer'
      and ${targetsOneOf(sql`a_ref.target_type`, sql`a_ref.target_id`, actors)}`;
  const managed = sql`select a_me.id from search_reference a_me
    where a_me.resource_type = 'EpisodeOfCare' and a_me.param = 'care-manager'
      and ${targetsOneOf(sql`a_me.target_type`, sql`a_me.target_id`, actors)}
      and a_me.id not in (${activeDeclarations()})`;
  const referred = sql`select a_ir.id from search_reference a_ir
    where a_ir.resource_type = 'EpisodeOfCare' and a_ir.param = 'incoming-referral'
      and a_ir.target_type = 'ServiceRequest' and a_ir.target_id in (${referrals})`;
  const episodeQueries = [managed, referred];
  if (actors.episodes.length > 0) episodeQueries.push(sql`select unnest(${actors.episodes}::text[])`);
  const episodes = joinSql(episodeQueries, ' union all ');
  const branches = [
    sql`select 'EpisodeOfCare', a_ep.id from (${episodes}) a_ep (id)`,
    sql`select 'Encounter', a_en.id from search_reference a_en
      where a_en.resource_type = 'Encounter' and a_en.param = 'participant'
        and ${targetsOneOf(sql`a_en.target_type`, sql`a_en.target_id`, actors)}`,
    sql`select 'ServiceRequest', a_sr.id from (${referrals}) a_sr (id)`,
    sql`select a_se.target_type, a_se.target_id from search_reference a_se
      where a_se.resource_type = 'ServiceRequest' and a_se.param = 'encounter' and a_se.id in (${referrals})`,
    sql`select 'Encounter', a_ee.id from search_reference a_ee
      where a_ee.resource_type = 'Encounter' and a_ee.param = 'episode-of-care'
        and a_ee.target_type = 'EpisodeOfCare' and a_ee.target_id in (${episodes})`,
  ];
  if (actors.encounters.length > 0) {
    branches.push(sql`select 'Encounter', a_te.id from unnest(${actors.encounters}::text[]) a_te (id)`);
  }
  return joinSql(branches, ' union all ');
}

/**
 * A FHIR Period (jsonb) covers now; a partial date (`2026`, `2026-05`, `2026-05-31`) stands for
 * its whole year, month or day (UTC). Stored resources were validated: the casts cannot fail.
 */
function periodCoversNow(period: Sql): Sql {
  const bound = (value: Sql, upper: boolean) => sql`(case
    when ${value} is null then ${upper ? sql`'infinity'` : sql`'-infinity'`}::timestamptz
    when length(${value}) = 4 then (${value} || '-01-01T00:00:00Z')::timestamptz${upper ? sql` + interval '1 year'` : sql``}
    when length(${value}) = 7 then (${value} || '-01T00:00:00Z')::timestamptz${upper ? sql` + interval '1 month'` : sql``}
    when length(${value}) = 10 then (${value} || 'T00:00:00Z')::timestamptz${upper ? sql` + interval '1 day'` : sql``}
    else (${value})::timestamptz end)`;
  return sql`(${bound(sql`${period} ->> 'start'`, false)} <= now() and now() < ${bound(sql`${period} ->> 'end'`, true)})`;
}

/** The resource `row` (an alias of `resource`) has a token `param` of `code` (and `system`). */
function hasToken(row: Sql, param: string, code: string, system?: string): Sql {
  const bySystem = system === undefined ? sql`` : sql` and a_ht.system = ${system}`;
  return sql`exists (select 1 from search_token a_ht
    where a_ht.resource_type = ${row}.resource_type and a_ht.id = ${row}.id
      and a_ht.param = ${param} and a_ht.code = ${code}${bySystem})`;
}

/** The elements of a jsonb array element of `content`; none when it is absent or not an array. */
function elements(content: Sql, element: string): Sql {
  return sql`jsonb_array_elements(case jsonb_typeof(${content} -> ${element})
    when 'array' then ${content} -> ${element} else '[]'::jsonb end)`;
}

/**
 * Ids of `resourceType` resources whose content mentions `Type/id` of one of `targets` (a query of
 * (type, id)): the `_content` index (search_text) finds them where no search parameter indexes the
 * element; the caller checks the element itself.
 */
function mentioning(resourceType: string, targets: Sql): Sql {
  return sql`select a_mt.id from search_text a_mt, (${targets}) a_tg (type, id)
    where a_mt.resource_type = ${resourceType}
      and a_mt.content @@ phraseto_tsquery('simple', lower(a_tg.type || '/' || a_tg.id))`;
}

/**
 * A practitioner's active PractitionerRoles: `practitioner` them, `active` true, `period` (the
 * `date` parameter) covering now.
 */
export function practitionerRoles(practitioner: { type: string; id: string }): Sql {
  return sql`select a_pr.id from search_reference a_pr
    where a_pr.resource_type = 'PractitionerRole' and a_pr.param = 'practitioner'
      and a_pr.target_id = ${practitioner.id} and a_pr.target_type = ${practitioner.type}
      and a_pr.id in (${withToken('PractitionerRole', 'active', 'true')})
      and a_pr.id not in (select a_prd.id from search_date a_prd
        where a_prd.resource_type = 'PractitionerRole' and a_prd.param = 'date'
          and (a_prd.low > now() or a_prd.high <= now()))`;
}

/**
 * Active CareTeams (`status` active) in which one of `actors` (a query of (type, id)) is a
 * participant whose `period` covers now (CareTeam.participant.period has no search parameter).
 */
export function actorCareTeams(actors: Sql): Sql {
  return sql`select a_ct.id from (select distinct a_cm.id from search_reference a_cm
        where a_cm.resource_type = 'CareTeam' and a_cm.param = 'participant'
          and (a_cm.target_type, a_cm.target_id) in (${actors})) a_cand (id)
    join resource a_ct on a_ct.resource_type = 'CareTeam' and a_ct.id = a_cand.id
    where not a_ct.deleted and a_ct.content::jsonb ->> 'status' = 'active'
      and exists (select 1 from ${elements(sql`a_ct.content::jsonb`, 'participant')} a_part
        where a_part -> 'member' ->> 'reference' in (select a_ma.type || '/' || a_ma.id from (${actors}) a_ma (type, id))
          and ${periodCoversNow(sql`(a_part -> 'period')`)})`;
}

/** The encounters of CareTeams (`CareTeam.encounter`); `teams` a query of ids. */
export function careTeamEncounters(teams: Sql): Sql {
  return sql`select a_ten.target_id from search_reference a_ten
    where a_ten.resource_type = 'CareTeam' and a_ten.param = 'encounter' and a_ten.target_type = 'Encounter'
      and a_ten.id in (${teams})`;
}

/**
 * EpisodeOfCare, other than declarations (of any status), whose `team` is one of `teams` or whose `careManager` is
 * one of `roles` (queries of ids). R4 has no `team` parameter, and `care-manager` indexes only
 * Practitioner references (`.where(resolve() is Practitioner)`): both are read from the content of
 * the episodes the `_content` index finds mentioning them.
 */
export function careTeamEpisodes(teams: Sql, roles: Sql): Sql {
  const targets = sql`select 'CareTeam', a_tt.id from (${teams}) a_tt (id)
    union all select 'PractitionerRole', a_tr.id from (${roles}) a_tr (id)`;
  return sql`select a_et.id from (${mentioning('EpisodeOfCare', targets)}) a_cand (id)
    join resource a_et on a_et.resource_type = 'EpisodeOfCare' and a_et.id = a_cand.id
    where not a_et.deleted
      and not ${hasToken(sql`a_et`, 'type', DECLARATION_TYPE.code, DECLARATION_TYPE.system)}
      and (exists (select 1 from ${elements(sql`a_et.content::jsonb`, 'team')} a_team
          where a_team ->> 'reference' in (select 'CareTeam/' || a_ti.id from (${teams}) a_ti (id)))
        or a_et.content::jsonb -> 'careManager' ->> 'reference'
          in (select 'PractitionerRole/' || a_ri.id from (${roles}) a_ri (id)))`;
}

/** The patients of a set of (type, id) episodes, through their `patient`/`subject` reference. */
export function episodePatients(episodes: Sql): Sql {
  return sql`select a_ept.target_id from search_reference a_ept
    where a_ept.param in ('patient', 'subject') and a_ept.target_type = 'Patient'
      and (a_ept.resource_type, a_ept.id) in (${episodes})`;
}

/**
 * The active Consents that may speak to one of `actors` (a query of (type, id)): those whose
 * top-level provision names one (the `actor` parameter), and those whose content mentions one
 * anywhere (nested provisions, which no parameter indexes): (patient, provision as JSON), walked once per principal by consent-provisions.ts.
 */
export function actorConsents(actors: Sql): Sql {
  // Driven from the few Consents found (`union`: one found both ways is walked once); their status
  // is read from their content, not matched against every active Consent's index row.
  return sql`select a_cpt.target_id as patient, a_con.content::jsonb -> 'provision' as provision
    from (select a_act.id from search_reference a_act
          where a_act.resource_type = 'Consent' and a_act.param = 'actor'
            and (a_act.target_type, a_act.target_id) in (${actors})
        union ${mentioning('Consent', actors)}) a_cand (id)
    join resource a_con on a_con.resource_type = 'Consent' and a_con.id = a_cand.id
    join search_reference a_cpt on a_cpt.resource_type = 'Consent' and a_cpt.id = a_con.id
      and a_cpt.param = 'patient' and a_cpt.target_type = 'Patient'
    where not a_con.deleted and a_con.content::jsonb ->> 'status' = 'active'`;
}

/**
 * Active Consents whose top-level provision names no actor (R4's `actor` parameter indexes only
 * it) and that can deny something: a deny, or nested provisions — the opt-outs for everyone
 * (consent-provisions.ts `optOutRules`), read with every relationship-rule principal's snapshot.
 */
export function actorlessConsents(): Sql {
  return sql`select a_opp.target_id as patient, a_opt.content::jsonb -> 'provision' as provision
    from search_token a_ost
    join resource a_opt on a_opt.resource_type = 'Consent' and a_opt.id = a_ost.id
    join search_reference a_opp on a_opp.resource_type = 'Consent' and a_opp.id = a_ost.id
      and a_opp.param = 'patient' and a_opp.target_type = 'Patient'
    where a_ost.resource_type = 'Consent' and a_ost.param = 'status' and a_ost.code = 'active'
      and not a_opt.deleted and a_opt.content::jsonb ->> 'status' = 'active'
      and (a_opt.content::jsonb -> 'provision' ->> 'type' = 'deny' or a_opt.content::jsonb -> 'provision' ? 'provision')
      and not exists (select 1 from search_reference a_opa
        where a_opa.resource_type = 'Consent' and a_opa.id = a_ost.id and a_opa.param = 'actor')`;
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
