/**
 * Prints the SQL and the PostgreSQL plan (EXPLAIN ANALYZE, BUFFERS) of the first page of a search
 * in the default order, as the store runs it: `node --import tsx scripts/explain-search.ts 'Observation?code=…'`
 * with DATABASE_URL set. A tool for reading slow searches on a loaded database; it changes nothing.
 */
import { normalizeString, parseSearch } from '@concordia/fhir';
import { createPostgresDatabase } from '../packages/server/src/store/postgres.ts';
import { matchConditions, pageStatement } from '../packages/server/src/store/search/search-statement.ts';
import { sql } from '../packages/server/src/store/sql.ts';

const [request] = process.argv.slice(2);
const connectionString = process.env.DATABASE_URL;
if (request === undefined || connectionString === undefined) {
  console.error("Usage: DATABASE_URL=postgres://… node --import tsx scripts/explain-search.ts 'Type?query'");
  process.exit(2);
}
const [resourceType = '', query = ''] = request.split('?');
const { query: parsed, issues } = parseSearch({ resourceType, pairs: [...new URLSearchParams(query)] });
if (issues.length > 0) console.warn(issues);
const where = matchConditions(
  {
    resourceTypes: [resourceType],
    allTypes: false,
    filters: parsed.filters,
    sort: parsed.sort,
    count: 20,
    total: 'none',
    includes: [],
    includeLimit: 0,
  },
  normalizeString,
  Date.now(),
);
// The default order (type, id): `_sort` columns are not explained by this tool.
const statement = pageStatement(where, [], undefined, 21);
const { text, values } = statement.toQuery();
console.log(text, values);
const db = createPostgresDatabase({ connectionString, poolSize: 1 });
const rows = await db.query(sql`explain (analyze, buffers) ${statement}`);
for (const row of rows) console.log(row['QUERY PLAN']);
await db.close();
