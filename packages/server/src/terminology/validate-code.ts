/**
 * $validate-code against a code system (codesystem-operation-validate-code.html) or a value set
 * (valueset-operation-validate-code.html): `result` says whether the code may be used. An unknown
 * code is false; an inactive one is false too — it is known but must not appear in new data —
 * unless the value set includes inactive codes (`compose.inactive`).
 *
 * A `display` that is given is part of "the concept details supplied", which `result` judges
 * ("True if the concept details supplied are valid"): one that is neither the concept's display
 * nor one of its designations makes `result` false, with a `message` naming the valid ones and
 * the concept's `display`. The spec leaves case to the code system ("Whether displays are case
 * sensitive is code system dependent"); the reference implementations compare without regard to
 * case (the Java validator's ValueSetValidator `equalsIgnoreCase`, tx.fhir.org
 * `dcsCaseInsensitive`) and hold a display that differs only in whitespace to be wrong (HL7 test
 * case tx/validation/simple-code-bad-display-ws: result false), and so does this.
 *
 * Each check is one statement, which also reads the terminology revision it saw, so that the
 * caller can cache the answer under the revision it rests on (sql-terminology-service.ts).
 */
import type { Row, SqlExecutor } from '../store/database.ts';
import { readBoolean, readNumber, readOptionalString, readString } from '../store/rows.ts';
import { prepared, type Sql, sql } from '../store/sql.ts';
import type { CodeSystemCatalog } from './code-system-catalog.ts';
import type { TerminologyScope } from './terminology-scope.ts';
import type { CodingInput, ValidateCodeResult } from './terminology-service.ts';
import type { CompiledValueSet } from './value-set-compose.ts';

/** An answer and the terminology revision of the snapshot it was read from. */
export interface RevisionedResult {
  result: ValidateCodeResult;
  revision: number;
}

export async function validateInCodeSystem(
  scope: TerminologyScope,
  catalog: CodeSystemCatalog,
  coding: CodingInput,
  revision: number,
): Promise<RevisionedResult> {
  const db = scope.sql;
  const { system, version, code } = coding;
  if (system === undefined) {
    return {
      result: { result: false, message: `The code ${code} has no system to validate it in` },
      revision,
    };
  }
  // The hot path of every binding check: version resolution, the concept and (when a display is
  // to be checked) its designations in one statement; the revision row makes it answer a row
  // even for an unknown code system.
  const statement = prepared(sql`select r.revision, s.version, c.code_system_id, c.display, c.active
      ${coding.display !== undefined ? designationsColumn : sql``}
    from terminology_revision r
    left join code_system s on s.id = (select id from code_system where url = ${system}
      and (${version ?? null}::text is null or version = ${version ?? null}::text)
      order by loaded_at desc, id desc limit 1)
    left join concept c on c.code_system_id = s.id and c.code = ${code}`);
  let row = await single(db, statement);
  if (row.version === null && (await catalog.resolve(scope, system, version)) !== undefined)
    row = await single(db, statement);
  const read = readNumber(row, 'revision');
  if (row.version === null) {
    return {
      result: {
        result: false,
        message: `Unknown code system ${system}${version !== undefined ? `|${version}` : ''}`,
      },
      revision: read,
    };
  }
  if (row.code_system_id === null) {
    return {
      result: {
        result: false,
        message: `Unknown code ${code} in the code system ${system} version ${readString(row, 'version')}`,
      },
      revision: read,
    };
  }
  return { result: judgeConcept(row, coding, `the code system ${system}`, false), revision: read };
}

export async function validateInValueSet(
  db: SqlExecutor,
  compiled: CompiledValueSet,
  coding: CodingInput,
  valueSetName: string,
): Promise<RevisionedResult> {
  const { system, version, code } = coding;
  const row = await single(
    db,
    sql`select r.revision, m.* from terminology_revision r left join lateral (
      select s.url, s.version, c.code_system_id, c.display, c.active
        ${coding.display !== undefined ? designationsColumn : sql``}
      from concept c join code_system s on s.id = c.code_system_id
      where ${compiled.condition} and c.code = ${code}
        and (${system ?? null}::text is null or s.url = ${system ?? null}::text)
        and (${version ?? null}::text is null or s.version = ${version ?? null}::text)
      limit 1) m on true`,
  );
  const revision = readNumber(row, 'revision');
  if (row.code_system_id !== null && row.code_system_id !== undefined) {
    const where = `the value set ${valueSetName}`;
    const inactiveAllowed = compiled.inactive === true;
    return { result: judgeConcept(row, coding, where, inactiveAllowed), revision };
  }
  const listed = compiled.listed.find(
    (member) => member.code === code && (system === undefined || member.system === system),
  );
  if (listed !== undefined) {
    // A code system that is not loaded: the value set's own list is all there is to go by, and it
    // says nothing about which displays are valid.
    const shown = listed.display !== undefined ? { display: listed.display } : {};
    return { result: { result: true, ...shown }, revision };
  }
  const named = system === undefined ? code : `${system}|${code}`;
  return {
    result: { result: false, message: `The code ${named} is not in the value set ${valueSetName}` },
    revision,
  };
}

/** The concept's designations (every language and use), for the display check. */
const designationsColumn = sql`, (select array_agg(d.value) from concept_designation d
      where d.code_system_id = c.code_system_id and d.ordinal = c.ordinal) as designations`;

async function single(db: SqlExecutor, statement: Sql): Promise<Row> {
  const [row] = await db.query(statement);
  if (row === undefined) throw new Error('terminology_revision has no row (migration 0010)');
  return row;
}

function judgeConcept(
  row: Row,
  coding: CodingInput,
  where: string,
  inactiveAllowed: boolean,
): ValidateCodeResult {
  const display = readOptionalString(row, 'display');
  const shown = display !== undefined ? { display } : {};
  const active = readBoolean(row, 'active');
  if (!active && !inactiveAllowed) {
    return {
      result: false,
      inactive: true,
      message: `The code ${coding.code} is inactive (retired) in ${where} and must not be used in new data`,
      ...shown,
    };
  }
  const inactive = active ? {} : { inactive: true };
  if (coding.display === undefined) return { result: true, ...inactive, ...shown };
  const valid = [...(display !== undefined ? [display] : []), ...designations(row)];
  if (valid.length === 0) {
    // Nothing to check against: a warning, as the reference validator's NO_VALID_DISPLAY_FOUND.
    return {
      result: true,
      ...inactive,
      message: `No valid display names found for ${coding.system ?? ''}#${coding.code}: the display '${coding.display}' cannot be checked`,
    };
  }
  const verdict = judgeDisplay(coding.display, valid);
  if (verdict === 'valid') return { result: true, ...inactive, ...shown };
  return {
    result: false,
    ...inactive,
    ...shown,
    message: wrongDisplayMessage(coding, valid, verdict === 'whitespace'),
  };
}

function designations(row: Row): string[] {
  const values: unknown = row.designations;
  return Array.isArray(values) ? values.filter((value): value is string => typeof value === 'string') : [];
}

/** `valid` when a display matches without regard to case; `whitespace` when only spacing differs. */
export function judgeDisplay(given: string, valid: readonly string[]): 'valid' | 'whitespace' | 'wrong' {
  const folded = given.toLowerCase();
  if (valid.some((candidate) => candidate.toLowerCase() === folded)) return 'valid';
  const spaced = collapseWhitespace(folded);
  return valid.some((candidate) => collapseWhitespace(candidate.toLowerCase()) === spaced)
    ? 'whitespace'
    : 'wrong';
}

function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** In the words of the reference implementations' `Display_Name_for__should_be_one_of__instead_of`. */
function wrongDisplayMessage(coding: CodingInput, valid: readonly string[], whitespace: boolean): string {
  const distinct = [...new Set(valid)];
  const named = `${coding.system ?? ''}#${coding.code}`;
  const choices =
    distinct.length === 1
      ? `Valid display is '${distinct[0]}'`
      : `Valid display is one of ${distinct.length} choices: ${distinct.map((value) => `'${value}'`).join(', ')}`;
  const spacing = whitespace ? ' (only the whitespace differs)' : '';
  return `Wrong Display Name '${coding.display ?? ''}' for ${named}${spacing}. ${choices}`;
}
