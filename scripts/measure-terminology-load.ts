/**
 * Measures a full ICD-10-CM load into the concept tables (issue 5: ≤ 60 s), on PGlite (memory) or,
 * with DATABASE_URL set, on PostgreSQL in a throw-away schema:
 *
 *   node --import tsx scripts/measure-terminology-load.ts [order-file]
 *
 * Default input: ../shared/data/codes/icd10cm-2021-cdc/icd10cm-order-Jan-2021.txt.gz.
 */
import { join } from 'node:path';
import type { Database } from '../packages/server/src/store/database.ts';
import { migrate } from '../packages/server/src/store/migrate.ts';
import { openPgliteDatabase } from '../packages/server/src/store/pglite.ts';
import { createPostgresDatabase } from '../packages/server/src/store/postgres.ts';
import { identifier, sql } from '../packages/server/src/store/sql.ts';
import { readIcd10cmOrderFile } from '../packages/server/src/terminology/import/icd10cm-order.ts';
import { loadCodeSystem } from '../packages/server/src/terminology/load-code-system.ts';

const input =
  process.argv[2] ??
  join(import.meta.dirname, '../../shared/data/codes/icd10cm-2021-cdc/icd10cm-order-Jan-2021.txt.gz');

async function open(): Promise<{ db: Database; done(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url === undefined) {
    const db = await openPgliteDatabase({ dataDir: 'memory://' });
    return { db, done: () => db.close() };
  }
  const schema = `terminology_measure_${process.pid}`;
  const admin = createPostgresDatabase({ connectionString: url, poolSize: 1 });
  await admin.query(sql`create schema ${identifier(schema)}`);
  const db = createPostgresDatabase({ connectionString: url, poolSize: 2, schema });
  return {
    db,
    async done() {
      await db.close();
      await admin.query(sql`drop schema ${identifier(schema)} cascade`);
      await admin.close();
    },
  };
}

const { db, done } = await open();
try {
  await migrate(db);
  for (const round of ['first load', 'reload (replaces)']) {
    const started = performance.now();
    const result = await loadCodeSystem(db, readIcd10cmOrderFile(input));
    const seconds = (performance.now() - started) / 1000;
    const [closure] = await db.query(sql`select count(*)::int as n from concept_ancestor`);
    console.log(
      `${db.kind} ${round}: ${result.concepts} concepts, ${String(closure?.n)} closure rows in ${seconds.toFixed(1)} s`,
    );
  }
} finally {
  await done();
}
