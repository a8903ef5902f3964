/**
 * $validate-code against a code system (codesystem-operation-validate-code.html) or a value set
 * (valueset-operation-validate-code.html): `result` says whether the code may be used. An unknown
 * code is false; an inactive one is false too — it is known but must not appear in new data —
 * unless the value set includes inactive codes (`compose.inactive`); a display that is neither the
 * concept's display nor one of its designations keeps `result` true with a warning `message`.
 */
import { normalizeString } from '@concordia/fhir';
import type { Row, SqlExecutor } from '../store/database.ts';
import { readBoolean, readNumber, readOptionalString, readString } from '../store/rows.ts';
import { prepared, sql } from '../store/sql.ts';
import type { CodeSystemCatalog } from './code-system-catalog.ts';
import type { TerminologyScope } from './terminology-scope.ts';
import type { CodingInput, ValidateCodeResult } from './terminology-service.ts';
import type { CompiledValueSet } from './value-set-compose.ts';

export async function validateInCodeSystem(
  scope: TerminologyScope,
  catalog: CodeSystemCatalog,
  coding: CodingInput,
): Promise<ValidateCodeResult> {
  const db = scope.sql;
  const { system, version, code } = coding;
  if (system === undefined)
    return { result: false, message: `The code ${code} has no system to validate it in` };
  // The hot path of every binding check: version resolution and the concept in one statement.
  const statement =
    prepared(sql`select s.id, s.url, s.version, c.code_system_id, c.ordinal, c.display, c.active
    from code_system s left join concept c on c.code_system_id = s.id and c.code = ${code}
    where s.id = (select id from code_system where url = ${system}
      and (${version ?? null}::text is null or version = ${version ?? null}::text)
      order by loaded_at desc, id desc limit 1)`);
  let [row] = await db.query(statement);
  if (row === undefined && (await catalog.resolve(scope, system, version)) !== undefined)
    [row] = await db.query(statement);
  if (row === undefined) {
    return {
      result: false,
      message: `Unknown code system ${system}${version !== undefined ? `|${version}` : ''}`,
    };
  }
  if (row.code_system_id === null) {
    return {
      result: false,
      message: `Unknown code ${code} in the code system ${system} version ${readString(row, 'version')}`,
    };
  }
  return judgeConcept(db, row, coding, `the code system ${system}`, false);
}

export async function validateInValueSet(
  db: SqlExecutor,
  compiled: CompiledValueSet,
  coding: CodingInput,
  valueSetName: string,
): Promise<ValidateCodeResult> {
  const { system, version, code } = coding;
  const [row] = await db.query(sql`select s.url, s.version, c.code_system_id, c.ordinal, c.display, c.active
    from concept c join code_system s on s.id = c.code_system_id
    where ${compiled.condition} and c.code = ${code}
      and (${system ?? null}::text is null or s.url = ${system ?? null}::text)
      and (${version ?? null}::text is null or s.version = ${version ?? null}::text)
    limit 1`);
  if (row !== undefined)
    return judgeConcept(db, row, coding, `the value set ${valueSetName}`, compiled.inactive === true);
  const listed = compiled.listed.find(
    (member) => member.code === code && (system === undefined || member.system === system),
  );
  if (listed !== undefined) {
    return { result: true, ...(listed.display !== undefined ? { display: listed.display } : {}) };
  }
  const named = system === undefined ? code : `${system}|${code}`;
  return { result: false, message: `The code ${named} is not in the value set ${valueSetName}` };
}

async function judgeConcept(
  db: SqlExecutor,
  row: Row,
  coding: CodingInput,
  where: string,
  inactiveAllowed: boolean,
): Promise<ValidateCodeResult> {
  const display = readOptionalString(row, 'display');
  const shown = display !== undefined ? { display } : {};
  if (!readBoolean(row, 'active') && !inactiveAllowed) {
    return {
      result: false,
      inactive: true,
      message: `The code ${coding.code} is inactive (retired) in ${where} and must not be used in new data`,
      ...shown,
    };
  }
  const inactive = readBoolean(row, 'active') ? {} : { inactive: true };
  if (coding.display === undefined || (await displayMatches(db, row, coding.display))) {
    return { result: true, ...inactive, ...shown };
  }
  return {
    result: true,
    ...inactive,
    ...shown,
    message: `The display "${coding.display}" is not a display of ${coding.code}${display !== undefined ? ` ("${display}")` : ''}`,
  };
}

/** Folded like string search: case, accents and spacing do not count. */
async function displayMatches(db: SqlExecutor, row: Row, given: string): Promise<boolean> {
  const wanted = normalizeString(given);
  const own = readOptionalString(row, 'display');
  if (own !== undefined && normalizeString(own) === wanted) return true;
  const designations = await db.query(
    prepared(sql`select value from concept_designation
      where code_system_id = ${readNumber(row, 'code_system_id')} and ordinal = ${readNumber(row, 'ordinal')}`),
  );
  return designations.some((designation) => normalizeString(readString(designation, 'value')) === wanted);
}
