/**
 * $translate (conceptmap-operation-translate.html) over the loaded ConceptMaps (current version of
 * each): source → target, or with `reverse` target → source where the equivalence reads both ways
 * — `wider` one way is `narrower` the other, `subsumes` is `specializes`; `unmatched` and
 * `disjoint` elements translate to nothing.
 */
import type { SqlExecutor } from '../store/database.ts';
import { readOptionalString, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { CodingInput, TranslateRequest, TranslationMatch } from './terminology-service.ts';

const REVERSED: Record<string, string> = {
  relatedto: 'relatedto',
  equivalent: 'equivalent',
  equal: 'equal',
  wider: 'narrower',
  narrower: 'wider',
  subsumes: 'specializes',
  specializes: 'subsumes',
  inexact: 'inexact',
};

const NO_TRANSLATION = ['unmatched', 'disjoint'];

const SOURCE = {
  system: sql`e.source_system`,
  version: sql`e.source_version`,
  code: sql`e.source_code`,
  display: sql`e.source_display`,
};
const TARGET = {
  system: sql`e.target_system`,
  version: sql`e.target_version`,
  code: sql`e.target_code`,
  display: sql`e.target_display`,
};

export async function translateCoding(
  db: SqlExecutor,
  request: TranslateRequest,
): Promise<TranslationMatch[]> {
  const { coding, targetSystem, conceptMap } = request;
  const reverse = request.reverse === true;
  const [from, to] = reverse ? [TARGET, SOURCE] : [SOURCE, TARGET];
  const rows = await db.query(sql`select m.url, e.equivalence,
      ${to.system} as system, ${to.version} as version,
      ${to.code} as code, ${to.display} as display
    from concept_map_element e join concept_map m on m.id = e.concept_map_id
    where m.id in (select distinct on (url) id from concept_map order by url, loaded_at desc, id desc)
      and ${from.code} = ${coding.code}
      and (${coding.system ?? null}::text is null or ${from.system} = ${coding.system ?? null}::text)
      and (${targetSystem ?? null}::text is null or ${to.system} = ${targetSystem ?? null}::text)
      and (${conceptMap ?? null}::text is null or m.url = ${conceptMap ?? null}::text)
      and ${to.code} is not null
      and not (e.equivalence = any(${NO_TRANSLATION}::text[]))
    order by m.url, e.equivalence, system, code`);
  return rows.flatMap((row) => {
    const stated = readString(row, 'equivalence');
    const equivalence = reverse ? REVERSED[stated] : stated;
    if (equivalence === undefined) return [];
    const version = readOptionalString(row, 'version');
    const display = readOptionalString(row, 'display');
    const concept: CodingInput = {
      system: readString(row, 'system'),
      code: readString(row, 'code'),
      ...(version !== undefined ? { version } : {}),
      ...(display !== undefined ? { display } : {}),
    };
    return [{ equivalence, concept, source: readString(row, 'url') }];
  });
}
