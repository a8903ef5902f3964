/**
 * One page of a value set's expansion (valueset-operation-expand.html) from its compiled compose:
 * the members in the concept tables in (system, code) order, then the codes it lists for code
 * systems that are not loaded. `filter` is word-prefix matching on the folded display and
 * designations (`asth pers` finds "Persistent asthma"), answered by the GIN index on
 * `concept.words`; `displayLanguage` picks a designation in that language when there is one.
 */
import { fhirError, normalizeString } from '@concordia/fhir';
import type { SqlExecutor } from '../store/database.ts';
import { readBoolean, readNumber, readOptionalString, readString } from '../store/rows.ts';
import { type Sql, sql } from '../store/sql.ts';
import type { ExpansionContains } from './terminology-service.ts';
import type { CompiledValueSet, ListedCoding } from './value-set-compose.ts';

export interface ExpansionPageRequest {
  filter?: string;
  offset: number;
  /** Absent: the whole expansion, up to `limit`. */
  count?: number;
  displayLanguage?: string;
  activeOnly?: boolean;
  /** The largest expansion returned whole; a larger one without `count` is refused as too costly. */
  limit: number;
}

export interface ExpansionPage {
  total: number;
  contains: ExpansionContains[];
}

export async function expandPage(
  db: SqlExecutor,
  compiled: CompiledValueSet,
  request: ExpansionPageRequest,
): Promise<ExpansionPage> {
  const words = filterWords(request.filter);
  const conditions = [compiled.condition];
  if (request.activeOnly === true || compiled.inactive === false) conditions.push(sql`c.active`);
  if (words.length > 0)
    conditions.push(sql`c.words @@ to_tsquery('simple', ${words.map((w) => `${w}:*`).join(' & ')})`);
  const where = conditions.reduce((all, next) => sql`${all} and ${next}`);
  const listed =
    words.length === 0 ? compiled.listed : compiled.listed.filter((coding) => matchesWords(coding, words));

  const count = request.count ?? request.limit + 1;
  const rows = await db.query(sql`select p.*, ${displayColumn(request.displayLanguage)} as shown from (
      select s.url as system, s.version, c.code_system_id, c.ordinal, c.code, c.display, c.active, c.selectable,
        count(*) over () as total
      from concept c join code_system s on s.id = c.code_system_id
      where ${where}
      order by s.url, c.code
      limit ${count} offset ${request.offset}
    ) p order by p.system, p.code`);
  const first = rows[0];
  const stored =
    first !== undefined ? readNumber(first, 'total') : request.offset === 0 ? 0 : await countRows(db, where);
  const total = stored + listed.length;
  if (request.count === undefined && total > request.limit) {
    throw fhirError(
      'unprocessable',
      'too-costly',
      `The expansion has ${total} codes, more than ${request.limit}: page it with count and offset, or filter it`,
    );
  }
  const contains: ExpansionContains[] = rows.map((row) => {
    const display = readOptionalString(row, 'shown');
    return {
      system: readString(row, 'system'),
      ...versionOf(readString(row, 'version')),
      code: readString(row, 'code'),
      ...(display !== undefined ? { display } : {}),
      ...(readBoolean(row, 'active') ? {} : { inactive: true }),
      ...(readBoolean(row, 'selectable') ? {} : { abstract: true }),
    };
  });
  const listedStart = Math.max(0, request.offset - stored);
  contains.push(...listed.slice(listedStart, listedStart + count - contains.length));
  return { total, contains };
}

function versionOf(version: string): { version?: string } {
  return version === '' ? {} : { version };
}

async function countRows(db: SqlExecutor, where: Sql): Promise<number> {
  const [row] = await db.query(sql`select count(*)::int as total from concept c where ${where}`);
  return row === undefined ? 0 : readNumber(row, 'total');
}

/** The display in `language` (or a regional form of it: `nb` takes `nb-NO`), else the concept's own. */
function displayColumn(language: string | undefined): Sql {
  if (language === undefined) return sql`p.display`;
  return sql`coalesce((select d.value from concept_designation d
    where d.code_system_id = p.code_system_id and d.ordinal = p.ordinal
      and (d.language = ${language} or d.language like ${`${language}-%`})
    order by d.language = ${language} desc limit 1), p.display)`;
}

/** The filter's words, folded like the indexed text; only letters and digits reach `to_tsquery`. */
export function filterWords(filter: string | undefined): string[] {
  if (filter === undefined) return [];
  return normalizeString(filter)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '');
}

function matchesWords(coding: ListedCoding, words: readonly string[]): boolean {
  const own = normalizeString(coding.display ?? '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '');
  return words.every((word) => own.some((candidate) => candidate.startsWith(word)));
}
