/**
 * Prints the SQL and the PostgreSQL plan (EXPLAIN ANALYZE, BUFFERS) of the first page of a search
 * in the default order, as the store runs it, and of its first `_include`/`_revinclude` level:
 * `node --import tsx scripts/explain-search.ts 'Observation?code=…'` with DATABASE_URL set. Each
 * statement is explained twice on one connection and the second plan printed, so the planning
 * time is that of a warm connection, as in the server's pool. A tool for reading slow searches on
 * a loaded database; it changes nothing.
 */
import type { StoredMatch } from '../packages/server/src/store/port.ts';
import { createPostgresDatabase } from '../packages/server/src/store/postgres.ts';
import { readString } from '../packages/server/src/store/rows.ts';
import { includeStatement } from '../packages/server/src/store/search/include-statement.ts';
import { type Sql, sql } from '../packages/server/src/store/sql.ts';
import { firstPageSearch, firstPageStatement } from '../packages/server/test/support/first-page-statement.ts';

const [request] = process.argv.slice(2);
const connectionString = process.env.DATABASE_URL;
if (request === undefined || connectionString === undefined) {
  console.error("Usage: DATABASE_URL=postgres://… node --import tsx scripts/explain-search.ts 'Type?query'");
  process.exit(2);
}
const [resourceType = '', query = ''] = request.split('?');
const { search, issues } = firstPageSearch(resourceType, query);
if (issues.length > 0) console.warn(issues);
// The default order (type, id): `_sort` columns are not explained by this tool.
const page = firstPageStatement(search);
const db = createPostgresDatabase({ connectionString, poolSize: 1 });

async function explain(title: string, statement: Sql): Promise<void> {
  const { text, values } = statement.toQuery();
  console.log(`-- ${title}\n${text}`, values);
  await db.query(sql`explain (analyze, buffers) ${statement}`);
  const rows = await db.query(sql`explain (analyze, buffers) ${statement}`);
  for (const row of rows) console.log(row['QUERY PLAN']);
}

await explain('page', page);
if (search.includes.length > 0) {
  const matches: StoredMatch[] = (await db.query(page)).slice(0, search.count).map((row) => ({
    resourceType: readString(row, 'resource_type'),
    id: readString(row, 'id'),
    json: readString(row, 'content'),
  }));
  await explain(
    'first include level',
    includeStatement({
      directives: search.includes,
      from: matches,
      seen: matches,
      limit: search.includeLimit + 1,
    }),
  );
}
await db.close();
