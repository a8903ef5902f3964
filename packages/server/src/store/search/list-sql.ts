/**
 * `_list` (search.html#list) over the List's own index rows: a resource matches when a List holds
 * it in `entry.item` (the `item` reference parameter of List). A deleted List has no index rows,
 * so it holds nothing.
 *
 * A functional list (lifecycle.html#lists: `$current-allergies`, …) is the patient's List with
 * `status` = current and one of the codes below: this server keeps no list of its own, it finds the
 * one a client maintains. `entry.deleted` flags (List in `changes` mode) are not read.
 */
import type { FunctionalListName, ListValue } from '@concordia/fhir';
import { joinSql, type Sql, sql } from '../sql.ts';
import type { SearchScope } from './search-scope.ts';

const LIST_USE = 'http://terminology.hl7.org/CodeSystem/list-example-use-codes';
const LOINC = 'http://loinc.org';

/** The List.code each functional list is recognised by: the R4 example use codes and LOINC's section codes. */
export const FUNCTIONAL_LIST_CODES: Readonly<Record<FunctionalListName, readonly [string, string][]>> = {
  'current-allergies': [
    [LIST_USE, 'allergies'],
    [LOINC, '48765-2'],
  ],
  'current-problems': [
    [LIST_USE, 'problems'],
    [LOINC, '11450-4'],
  ],
  'current-medications': [
    [LIST_USE, 'medications'],
    [LOINC, '10160-0'],
  ],
};

export function listCondition(values: readonly ListValue[], scope: SearchScope): Sql {
  const { row } = scope;
  const ids = values.flatMap((value) => (value.kind === 'id' ? [value.id] : []));
  const lists = values.flatMap((value) => (value.kind === 'functional' ? [functionalList(value)] : []));
  if (ids.length > 0) lists.unshift(sql`l.id = any(${ids}::text[])`);
  return sql`exists (select 1 from search_reference l
    where l.resource_type = 'List' and l.param = 'item'
    and l.target_type = ${row}.resource_type and l.target_id = ${row}.id
    and (${joinSql(lists, ' or ')}))`;
}

function functionalList(value: Extract<ListValue, { kind: 'functional' }>): Sql {
  if (value.patient === undefined) {
    throw new Error(`The functional list $${value.name} reached the SQL compiler without a patient`);
  }
  const codes = FUNCTIONAL_LIST_CODES[value.name].map(
    ([system, code]) => sql`(c.system = ${system} and c.code = ${code})`,
  );
  return sql`(exists (select 1 from search_reference p
      where p.resource_type = 'List' and p.id = l.id and p.param = 'patient'
      and p.target_type = 'Patient' and p.target_id = ${value.patient})
    and exists (select 1 from search_token s
      where s.resource_type = 'List' and s.id = l.id and s.param = 'status' and s.code = 'current')
    and exists (select 1 from search_token c
      where c.resource_type = 'List' and c.id = l.id and c.param = 'code' and (${joinSql(codes, ' or ')})))`;
}
