/**
 * `_text` and `_content` (search.html#text, #content) against `search_text` (migration 0004): each
 * query becomes one tsquery built from bound values — `plainto_tsquery` for a word,
 * `phraseto_tsquery` for a phrase, `to_tsquery(… ':*')` for a prefix — combined with the tsquery
 * operators `&&` and `||`, so user text never reaches the tsquery syntax itself. Terms are folded
 * like the indexed text (normalizeString), and both sides use the `simple` configuration.
 */
import type { TextQuery } from '@concordia/fhir';
import { joinSql, type Sql, sql } from '../sql.ts';
import type { SearchScope } from './search-scope.ts';

export function textCondition(
  field: 'narrative' | 'content',
  values: readonly TextQuery[],
  scope: SearchScope,
): Sql {
  const { row } = scope;
  const column = field === 'narrative' ? sql`w.narrative` : sql`w.content`;
  // One tsquery for all alternatives lets the GIN index answer the OR in one scan.
  const query = joinSql(
    values.map((value) => tsquery(value, scope)),
    ' || ',
  );
  return sql`exists (select 1 from search_text w
    where w.resource_type = ${row}.resource_type and w.id = ${row}.id and ${column} @@ (${query}))`;
}

/** Letters and digits only: safe to hand to `to_tsquery` with a `:*` suffix. */
const PLAIN_WORD = /^[\p{L}\p{N}]+$/u;

function tsquery(query: TextQuery, scope: SearchScope): Sql {
  switch (query.kind) {
    case 'word': {
      const folded = scope.normalize(query.text);
      if (query.prefix && PLAIN_WORD.test(folded)) return sql`to_tsquery('simple', ${`${folded}:*`})`;
      return sql`plainto_tsquery('simple', ${folded})`;
    }
    case 'phrase':
      return sql`phraseto_tsquery('simple', ${scope.normalize(query.text)})`;
    case 'and':
    case 'or': {
      const operator = query.kind === 'and' ? ' && ' : ' || ';
      return sql`(${joinSql(
        query.operands.map((operand) => tsquery(operand, scope)),
        operator,
      )})`;
    }
  }
}
