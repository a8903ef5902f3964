/**
 * Reads of one code system version's concept tables: $lookup (codesystem-operation-lookup.html),
 * $subsumes (codesystem-operation-subsumes.html) and the hierarchy sets behind the token
 * modifiers `:below` and `:above` (search.html#token).
 */
import { fhirError } from '@concordia/fhir';
import type { SqlExecutor } from '../store/database.ts';
import { readBoolean, readNumber, readOptionalString, readString } from '../store/rows.ts';
import { prepared, sql } from '../store/sql.ts';
import type { CodeSystemVersion } from './code-system-catalog.ts';
import type { CodingInput, LookupResult, SubsumptionOutcome } from './terminology-service.ts';

export async function lookupConcept(
  db: SqlExecutor,
  codeSystem: CodeSystemVersion,
  code: string,
): Promise<LookupResult | undefined> {
  const [row] = await db.query(
    prepared(sql`select ordinal, display, definition, active, selectable from concept
      where code_system_id = ${codeSystem.id} and code = ${code}`),
  );
  if (row === undefined) return undefined;
  const ordinal = readNumber(row, 'ordinal');
  const key = { id: codeSystem.id, ordinal };
  const [parents, children, designations, properties] = [
    await relatives(db, key, 'parents'),
    await relatives(db, key, 'children'),
    await db.query(
      prepared(sql`select language, use_system, use_code, use_display, value from concept_designation
        where code_system_id = ${key.id} and ordinal = ${key.ordinal}`),
    ),
    await db.query(
      prepared(
        sql`select code, value from concept_property where code_system_id = ${key.id} and ordinal = ${key.ordinal}`,
      ),
    ),
  ];
  const display = readOptionalString(row, 'display');
  const definition = readOptionalString(row, 'definition');
  const selectable = readBoolean(row, 'selectable');
  return {
    system: codeSystem.url,
    version: codeSystem.version,
    code,
    ...(display !== undefined ? { display } : {}),
    name: codeSystem.name,
    active: readBoolean(row, 'active'),
    parents,
    children,
    designations: designations.map((designation) => {
      const language = readOptionalString(designation, 'language');
      const useCode = readOptionalString(designation, 'use_code');
      const use: CodingInput | undefined =
        useCode === undefined
          ? undefined
          : {
              code: useCode,
              ...optional('system', readOptionalString(designation, 'use_system')),
              ...optional('display', readOptionalString(designation, 'use_display')),
            };
      return {
        value: readString(designation, 'value'),
        ...(language !== undefined ? { language } : {}),
        ...(use !== undefined ? { use } : {}),
      };
    }),
    properties: [
      ...properties.map((property) => ({
        code: readString(property, 'code'),
        value: propertyValue(property.value),
      })),
      // codesystem.html#defined-props: every concept answers `inactive` and `notSelectable`.
      ...(definition !== undefined ? [{ code: 'definition', value: definition }] : []),
      { code: 'inactive', value: !readBoolean(row, 'active') },
      ...(selectable ? [] : [{ code: 'notSelectable', value: true }]),
    ],
  };
}

function optional<K extends 'system' | 'display'>(key: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: string });
}

/** The stored `{ type, value }` as the bare value ($lookup's `property.value[x]` takes its type from it). */
function propertyValue(stored: unknown): unknown {
  return typeof stored === 'object' && stored !== null && 'value' in stored ? stored.value : stored;
}

async function relatives(
  db: SqlExecutor,
  key: { id: number; ordinal: number },
  direction: 'parents' | 'children',
): Promise<string[]> {
  const rows =
    direction === 'parents'
      ? await db.query(
          prepared(sql`select c.code from concept_parent p join concept c
            on c.code_system_id = p.code_system_id and c.ordinal = p.parent
            where p.code_system_id = ${key.id} and p.child = ${key.ordinal} order by c.code`),
        )
      : await db.query(
          prepared(sql`select c.code from concept_parent p join concept c
            on c.code_system_id = p.code_system_id and c.ordinal = p.child
            where p.code_system_id = ${key.id} and p.parent = ${key.ordinal} order by c.code`),
        );
  return rows.map((row) => readString(row, 'code'));
}

export async function subsumption(
  db: SqlExecutor,
  codeSystem: CodeSystemVersion,
  codeA: string,
  codeB: string,
): Promise<SubsumptionOutcome> {
  const rows = await db.query(
    prepared(sql`select code, ordinal from concept where code_system_id = ${codeSystem.id}
      and code in (${codeA}, ${codeB})`),
  );
  const ordinalOf = (code: string): number => {
    const row = rows.find((candidate) => candidate.code === code);
    if (row === undefined) {
      throw fhirError(
        'invalid',
        'code-invalid',
        `Unknown code ${code} in ${codeSystem.url}|${codeSystem.version}`,
      );
    }
    return readNumber(row, 'ordinal');
  };
  const a = ordinalOf(codeA);
  const b = ordinalOf(codeB);
  if (a === b) return 'equivalent';
  const [row] = await db.query(
    prepared(sql`select bool_or(ancestor = ${a}) as a_above, bool_or(ancestor = ${b}) as b_above
      from concept_ancestor where code_system_id = ${codeSystem.id}
        and ((ancestor = ${a} and descendant = ${b}) or (ancestor = ${b} and descendant = ${a}))`),
  );
  if (row?.a_above === true) return 'subsumes';
  if (row?.b_above === true) return 'subsumed-by';
  return 'not-subsumed';
}

/**
 * The codes `code` subsumes (itself included) or that subsume it; more than `limit` is refused as
 * too costly (a search would turn them into one huge IN list). An unknown code has none.
 */
export async function hierarchyCodes(
  db: SqlExecutor,
  codeSystem: CodeSystemVersion,
  code: string,
  direction: 'below' | 'above',
  limit: number,
): Promise<string[]> {
  const [mine, theirs] =
    direction === 'below' ? [sql`a.ancestor`, sql`a.descendant`] : [sql`a.descendant`, sql`a.ancestor`];
  const rows = await db.query(sql`select c.code from concept_ancestor a
      join concept c on c.code_system_id = a.code_system_id and c.ordinal = ${theirs}
      where a.code_system_id = ${codeSystem.id}
        and ${mine} = (select o.ordinal from concept o where o.code_system_id = ${codeSystem.id} and o.code = ${code})
      limit ${limit + 1}`);
  if (rows.length > limit) {
    throw fhirError(
      'unprocessable',
      'too-costly',
      `${code} has more than ${limit} codes ${direction} it in ${codeSystem.url}; search with a narrower code`,
    );
  }
  return rows.map((row) => readString(row, 'code'));
}
