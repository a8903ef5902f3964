/**
 * The databases every storage-backed test runs against (STYLE.md: one contract, every adapter).
 * Each `create()` is a fresh, migrated, isolated database: a new schema on one PGlite instance per
 * test file, or a new schema on the PostgreSQL of `DATABASE_URL`; closing it drops the schema.
 * PostgreSQL runs only when `DATABASE_URL` is set, unless `CONCORDIA_REQUIRE_ALL=1` (CI) demands it.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPglite, pgliteDatabase } from '../../src/store/pglite.ts';
import { createPostgresDatabase } from '../../src/store/postgres.ts';
import { identifier, sql } from '../../src/store/sql.ts';

export interface TestDatabase {
  name: 'pglite' | 'postgres';
  /** A fresh migrated database; `close()` it to drop it. */
  create(): Promise<Database>;
}

export function testDatabases(env: Record<string, string | undefined> = process.env): TestDatabase[] {
  const databaseUrl = env.DATABASE_URL?.trim();
  const databases: TestDatabase[] = [{ name: 'pglite', create: createPgliteTestDatabase }];
  if (databaseUrl !== undefined && databaseUrl !== '') {
    databases.push({ name: 'postgres', create: () => createPostgresTestDatabase(databaseUrl) });
  } else if (env.CONCORDIA_REQUIRE_ALL === '1') {
    throw new Error('CONCORDIA_REQUIRE_ALL=1 but DATABASE_URL is not set: the PostgreSQL tests cannot run');
  }
  return databases;
}

let schemaCounter = 0;

function freshSchemaName(): string {
  schemaCounter += 1;
  const random = Math.floor(Math.random() * 36 ** 6).toString(36);
  return `test_${process.pid}_${schemaCounter}_${random}`;
}

// Starting PGlite takes seconds; a schema on a shared instance takes milliseconds.
let sharedPglite: Promise<PGlite> | undefined;

async function createPgliteTestDatabase(): Promise<Database> {
  sharedPglite ??= openPglite('memory://');
  const instance = await sharedPglite;
  const schema = freshSchemaName();
  await instance.query(sql`create schema ${identifier(schema)}`.text);
  const database = pgliteDatabase(instance, { ownsInstance: false, schema });
  await migrate(database);
  return {
    ...database,
    async close() {
      await database.close();
      await instance.query(sql`drop schema ${identifier(schema)} cascade`.text);
    },
  };
}

let postgresAdmin: Database | undefined;

async function createPostgresTestDatabase(connectionString: string): Promise<Database> {
  postgresAdmin ??= createPostgresDatabase({ connectionString, poolSize: 2 });
  const admin = postgresAdmin;
  const schema = freshSchemaName();
  await admin.query(sql`create schema ${identifier(schema)}`);
  const database = createPostgresDatabase({ connectionString, poolSize: 8, schema });
  await migrate(database);
  return {
    ...database,
    async close() {
      await database.close();
      await admin.query(sql`drop schema ${identifier(schema)} cascade`);
    },
  };
}
