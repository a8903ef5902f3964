/**
 * A patient's Consent denials as SQL (DESIGN.md D6): what consent-provisions.ts read from the
 * provision trees once per principal — whole records, labelled data, scoped denials with their
 * exceptions — becomes conditions that a relationship rule's rows must also meet. Each condition
 * is a probe of the index rows of the candidate row; none reads resource content per row, and a
 * principal whom no Consent denies anything gets none of them.
 */
import { joinSql, type Sql, sql } from '../store/sql.ts';
import type {
  ConsentAction,
  DataPeriod,
  DataReference,
  DataScope,
  Label,
  ScopedDenial,
} from './consent-provisions.ts';
import { probe, type Rule } from './row-rule.ts';

/** What Consents deny a principal, as the decision holds it (consent-provisions.ts `ConsentDenials`). */
export interface Denials {
  readonly deniedPatients: readonly string[];
  readonly deniedLabels: readonly (Label & { patient: string })[];
  readonly scopedDenials: readonly ScopedDenial[];
}

export const NO_DENIALS: Denials = { deniedPatients: [], deniedLabels: [], scopedDenials: [] };

/**
 * The denials that apply to a request of `purpose` (v3-PurposeOfUse) doing `action`: a denial or
 * an exception listing purposes, or actions, applies only to those
 * (consent.html#Consent.provision.purpose, #Consent.provision.action).
 */
export function denialsFor(denials: Denials, purpose: string, action: ConsentAction = 'read'): Denials {
  const applies = (scope: DataScope) =>
    (scope.purposes === undefined || scope.purposes.includes(purpose)) &&
    (scope.actions === undefined || scope.actions.includes(action));
  const kept = (denial: ScopedDenial) =>
    applies(denial) && denial.except.every(applies) && !wholeRecord(denial, denial.except);
  if (denials.scopedDenials.every(kept)) return denials;
  const deniedPatients = [...denials.deniedPatients];
  const scopedDenials: ScopedDenial[] = [];
  for (const denial of denials.scopedDenials.filter(applies)) {
    const except = denial.except.filter(applies);
    if (wholeRecord(denial, except)) deniedPatients.push(denial.patient);
    else scopedDenials.push({ ...denial, except });
  }
  return { ...denials, deniedPatients: [...new Set(deniedPatients)], scopedDenials };
}

/**
 * A denial that, once its purposes and actions are known to apply, has no condition on the row and
 * no exception: the whole record, which the decision can then judge by compartments alone.
 */
function wholeRecord(denial: ScopedDenial, except: readonly DataScope[]): boolean {
  const {
    patient: _patient,
    except: _except,
    actions: _actions,
    purposes: _purposes,
    ...conditions
  } = denial;
  return except.length === 0 && Object.keys(conditions).length === 0;
}

/** The denials of `patients` only. */
export function denialsOf(denials: Denials, patients: ReadonlySet<string>): Denials {
  const ofThem = (denial: { patient: string }) => patients.has(denial.patient);
  return {
    deniedPatients: denials.deniedPatients.filter((patient) => patients.has(patient)),
    deniedLabels: denials.deniedLabels.filter(ofThem),
    scopedDenials: denials.scopedDenials.filter(ofThem),
  };
}

/** Both sets of denials at once (a principal's own and the opt-outs for everyone). */
export function bothDenials(a: Denials, b: Denials): Denials {
  if (b.deniedPatients.length + b.deniedLabels.length + b.scopedDenials.length === 0) return a;
  return {
    deniedPatients: [...new Set([...a.deniedPatients, ...b.deniedPatients])],
    deniedLabels: [...a.deniedLabels, ...b.deniedLabels],
    scopedDenials: [...a.scopedDenials, ...b.scopedDenials],
  };
}

/**
 * Relationship rules, unless the patient's Consent denies the actor: the whole record, labelled
 * data, or a scope with exceptions (consent-provisions.ts).
 */
export function withDenials(rule: Rule, denials: Denials): Rule {
  const { deniedPatients, deniedLabels, scopedDenials } = denials;
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
  for (const [patients, denial] of samePatterns(scopedDenials))
    conditions.push(scopedDenialRule(patients, denial));
  if (conditions.length === 1) return rule;
  return (row) =>
    sql`(${joinSql(
      conditions.map((condition) => condition(row)),
      ' and ',
    )})`;
}

/**
 * Scoped denials grouped by what they deny and except (many patients share one Consent form):
 * one condition per form, whatever the number of patients.
 */
function samePatterns(denials: readonly ScopedDenial[]): [string[], ScopedDenial][] {
  const forms = new Map<string, [string[], ScopedDenial]>();
  for (const denial of denials) {
    const { patient: _patient, ...pattern } = denial;
    const key = JSON.stringify(pattern);
    const form = forms.get(key);
    if (form === undefined) forms.set(key, [[denial.patient], denial]);
    else form[0].push(denial.patient);
  }
  return [...forms.values()];
}

/**
 * A scoped denial: the row is not in the compartment of one of `patients`, or not of the denied
 * types, or carries none of the denied labels, or is within one of the exceptions (nested permits).
 */
function scopedDenialRule(
  patients: readonly string[],
  denial: DataScope & Pick<ScopedDenial, 'except'>,
): Rule {
  const inCompartment = (row: Sql) =>
    probe(sql`select true from compartment a_sd
    where a_sd.resource_type = ${row}.resource_type and a_sd.id = ${row}.id
      and a_sd.patient_id = any(${[...patients]}::text[])`);
  return (row) => {
    const denied = [inCompartment(row), ...scopeConditions(row, denial)];
    const exceptions = denial.except.map((exception) => {
      const conditions = scopeConditions(row, exception);
      return conditions.length === 0 ? sql`true` : sql`(${joinSql(conditions, ' and ')})`;
    });
    if (exceptions.length > 0) denied.push(sql`not (${joinSql(exceptions, ' or ')})`);
    return sql`not (${joinSql(denied, ' and ')})`;
  };
}

/** The row is within a data scope: one of its types, carrying one of its labels. */
function scopeConditions(row: Sql, scope: DataScope): Sql[] {
  const conditions: Sql[] = [];
  if (scope.types !== undefined)
    conditions.push(sql`${row}.resource_type = any(${[...scope.types]}::text[])`);
  if (scope.labels !== undefined) conditions.push(carriesLabel(row, scope.labels));
  if (scope.codes !== undefined) conditions.push(carriesCode(row, scope.codes));
  if (scope.data !== undefined) conditions.push(isData(row, scope.data));
  if (scope.dataPeriod !== undefined) conditions.push(clinicalTimeWithin(row, scope.dataPeriod));
  return conditions;
}

/** `provision.code`: the row's `code` parameter has one of the codes (any system when none given). */
function carriesCode(row: Sql, codes: readonly Label[]): Sql {
  return probe(sql`select true from search_token a_sc
    join unnest(${codes.map((code) => code.system)}::text[], ${codes.map((code) => code.code)}::text[])
      a_cc (system, code) on a_cc.code = a_sc.code and (a_cc.system = '' or a_cc.system = a_sc.system)
    where a_sc.resource_type = ${row}.resource_type and a_sc.id = ${row}.id and a_sc.param = 'code'`);
}

/**
 * `provision.data` (consent-data-meaning): `instance`, the resource itself; `related`, it and what
 * it refers to; `dependents`, it and what refers to it — one reference away, by the search index.
 */
function isData(row: Sql, data: readonly DataReference[]): Sql {
  const types = data.map((item) => item.type);
  const ids = data.map((item) => item.id);
  const conditions: Sql[] = [
    sql`(${row}.resource_type, ${row}.id) in (select * from unnest(${types}::text[], ${ids}::text[]))`,
  ];
  const related = data.filter((item) => item.meaning === 'related');
  if (related.length > 0) {
    conditions.push(
      probe(sql`select true from search_reference a_dr
      where a_dr.target_type = ${row}.resource_type and a_dr.target_id = ${row}.id
        and (a_dr.resource_type, a_dr.id) in (select * from unnest(
          ${related.map((item) => item.type)}::text[], ${related.map((item) => item.id)}::text[]))`),
    );
  }
  const dependents = data.filter((item) => item.meaning === 'dependents');
  if (dependents.length > 0) {
    conditions.push(
      probe(sql`select true from search_reference a_dd
      where a_dd.resource_type = ${row}.resource_type and a_dd.id = ${row}.id
        and (a_dd.target_type, a_dd.target_id) in (select * from unnest(
          ${dependents.map((item) => item.type)}::text[], ${dependents.map((item) => item.id)}::text[]))`),
    );
  }
  return sql`(${joinSql(conditions, ' or ')})`;
}

/**
 * The date search parameter that holds each type's clinical time, for `provision.dataPeriod`
 * (docs/security.md lists them). A row of a type not listed has no clinical time: no dataPeriod
 * covers it.
 */
export const CLINICAL_DATE_PARAMETERS: readonly (readonly [type: string, param: string])[] = [
  ['Observation', 'date'],
  ['Encounter', 'date'],
  ['Condition', 'recorded-date'],
  ['Condition', 'onset-date'],
  ['Procedure', 'date'],
  ['DiagnosticReport', 'date'],
  ['Immunization', 'date'],
  ['AllergyIntolerance', 'date'],
  ['MedicationRequest', 'authoredon'],
  ['MedicationStatement', 'effective'],
  ['MedicationAdministration', 'effective-time'],
  ['MedicationDispense', 'whenhandedover'],
  ['ServiceRequest', 'authored'],
  ['DocumentReference', 'date'],
  ['Composition', 'date'],
  ['CarePlan', 'date'],
  ['EpisodeOfCare', 'date'],
  ['ImagingStudy', 'started'],
  ['Specimen', 'collected'],
  ['QuestionnaireResponse', 'authored'],
];

/** `provision.dataPeriod`: the row's clinical time lies within the period (its whole range). */
function clinicalTimeWithin(row: Sql, period: DataPeriod): Sql {
  const after = period.start !== undefined ? sql` and a_dp.low >= ${period.start}::timestamptz` : sql``;
  const before = period.end !== undefined ? sql` and a_dp.high <= ${period.end}::timestamptz` : sql``;
  return probe(sql`select true from search_date a_dp
    where a_dp.resource_type = ${row}.resource_type and a_dp.id = ${row}.id
      and (a_dp.resource_type, a_dp.param) in (select * from unnest(
        ${CLINICAL_DATE_PARAMETERS.map(([type]) => type)}::text[],
        ${CLINICAL_DATE_PARAMETERS.map(([, param]) => param)}::text[]))${after}${before}`);
}

function carriesLabel(row: Sql, labels: readonly Label[]): Sql {
  return probe(sql`select true from search_token a_st
    where a_st.resource_type = ${row}.resource_type and a_st.id = ${row}.id and a_st.param = '_security'
      and (a_st.system, a_st.code) in (select * from unnest(
        ${labels.map((label) => label.system)}::text[], ${labels.map((label) => label.code)}::text[]))`);
}
