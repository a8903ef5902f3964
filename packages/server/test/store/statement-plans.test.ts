/**
 * `planOnce` (store/sql.ts) on PostgreSQL: the statement runs under `force_generic_plan`, so a
 * connection plans it once, and every other statement — a search above all, which must be planned
 * for the values it carries — keeps the session's own setting, in a transaction and outside one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { Database } from '../../src/store/database.ts';
import { createPostgresDatabase } from '../../src/store/postgres.ts';
import { createResourceStore } from '../../src/store/resource-store.ts';
import { readNumber, readString } from '../../src/store/rows.ts';
import { planOnce, sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { fakeIndexer, patient } from './fake-indexer.ts';

const MODE = sql`select current_setting('plan_cache_mode') as mode`;

for (const database of testDatabases()) {
  describe(`statement plans on ${database.name}`, () => {
    let db: Database;
    beforeAll(async () => {
      db = await database.create();
    });
    afterAll(async () => {
      await db.close();
    });

    const modeOf = async (query: Promise<Record<string, unknown>[]>) => {
      const [row] = await query;
      return row === undefined ? undefined : readString(row, 'mode');
    };

    it('answers a planOnce statement as the same statement planned per execution, in a transaction and outside', async () => {
      const statement = sql`select ${'a'}::text || ${'b'}::text as joined`;
      const joined = (rows: Record<string, unknown>[]) => rows.map((row) => readString(row, 'joined'));
      expect(joined(await db.query(planOnce(statement)))).toEqual(['ab']);
      expect(joined(await db.transaction((tx) => tx.query(planOnce(statement))))).toEqual(['ab']);
    });

    // PGlite plans each statement as it comes (no prepared statements to keep): nothing to check.
    if (database.name !== 'postgres') return;

    it('runs a planOnce statement in a transaction under force_generic_plan, and the next statement without it', async () => {
      const modes = await db.transaction(async (tx) => [
        await modeOf(tx.query(MODE)),
        await modeOf(tx.query(planOnce(MODE))),
        await modeOf(tx.query(planOnce(MODE))),
        await modeOf(tx.query(MODE)),
      ]);
      expect(modes).toEqual(['auto', 'force_generic_plan', 'force_generic_plan', 'auto']);
      // SET LOCAL ends with the transaction: the pooled connection goes back as it was.
      expect(await modeOf(db.query(MODE))).toBe('auto');
    });

    it('runs a planOnce statement outside a transaction under force_generic_plan and puts the setting back', async () => {
      expect(await modeOf(db.query(planOnce(MODE)))).toBe('force_generic_plan');
      // Every pooled connection: none was left with the setting.
      const modes = await Promise.all(Array.from({ length: 8 }, () => modeOf(db.query(MODE))));
      expect(new Set(modes)).toEqual(new Set(['auto']));
    });

    it('plans the write statement of a create once per connection (a generic plan), not once per write', async () => {
      // A pool of one connection on the test's schema: its prepared statements are the ones counted.
      const url = process.env.DATABASE_URL ?? '';
      const [schemaRow] = await db.query(sql`select current_schema() as name`);
      const single = createPostgresDatabase({
        connectionString: url,
        poolSize: 1,
        schema: schemaRow === undefined ? 'public' : readString(schemaRow, 'name'),
      });
      try {
        const store = createResourceStore(single, fakeIndexer);
        const ctx = systemContext('statement-plans-test');
        for (let n = 0; n < 12; n++) {
          await store.transact(ctx, (tx) =>
            tx.apply(ctx, { kind: 'write', method: 'POST', resource: patient(`plan-${n}`) }),
          );
        }
        const [row] = await single.query(
          sql`select generic_plans, custom_plans from pg_prepared_statements
              where statement like '%insert into resource %' order by generic_plans desc limit 1`,
        );
        expect(row).toBeDefined();
        if (row === undefined) return;
        expect(readNumber(row, 'custom_plans')).toBe(0);
        expect(readNumber(row, 'generic_plans')).toBe(12);
      } finally {
        await single.close();
      }
    });
  });
}
