/**
 * Versioned SQL migrations (`migrations/NNNN_name.sql`, DESIGN.md D3), applied in order in one
 * transaction. An advisory lock keyed on the schema makes nodes that start together take turns:
 * the second finds the work done and applies nothing.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { Database } from './database.ts';
import { readNumber } from './rows.ts';
import { sql } from './sql.ts';

export interface Migration {
  version: number;
  /** File name without `.sql`, e.g. `0001_resources`. */
  name: string;
  script: string;
}

const MIGRATIONS_DIRECTORY = new URL('./migrations/', import.meta.url);
const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

let bundled: Promise<Migration[]> | undefined;

/** The migrations shipped with this build, in version order (read once per process). */
export function bundledMigrations(): Promise<Migration[]> {
  bundled ??= loadMigrations();
  return bundled;
}

async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS_DIRECTORY)).filter((file) => MIGRATION_FILE.test(file)).sort();
  const migrations = await Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ''),
      script: await readFile(new URL(file, MIGRATIONS_DIRECTORY), 'utf8'),
    })),
  );
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`Migration ${migration.name} is out of sequence: expected version ${index + 1}`);
    }
  });
  return migrations;
}

const CREATE_MIGRATIONS_TABLE = `create table if not exists schema_migrations (
  version integer primary key,
  name text not null,
  applied_at timestamptz not null default now()
)`;

/** Applies every pending migration; returns the names applied (empty when up to date). */
export async function migrate(db: Database): Promise<string[]> {
  const migrations = await bundledMigrations();
  return db.transaction(async (tx) => {
    await tx.query(
      sql`select pg_advisory_xact_lock(hashtextextended('concordia:migrate:' || current_schema(), 0))`,
    );
    await tx.executeScript(CREATE_MIGRATIONS_TABLE);
    const applied = new Set(
      (await tx.query(sql`select version from schema_migrations`)).map((row) => readNumber(row, 'version')),
    );
    const names: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.executeScript(migration.script);
      await tx.query(
        sql`insert into schema_migrations (version, name) values (${migration.version}, ${migration.name})`,
      );
      names.push(migration.name);
    }
    return names;
  });
}

/** Migrations not yet applied to this database (for `/readyz`). */
export async function pendingMigrations(db: Database): Promise<Migration[]> {
  const migrations = await bundledMigrations();
  const [table] = await db.query(sql`select to_regclass('schema_migrations') is not null as present`);
  if (table?.present !== true) return migrations;
  const applied = new Set(
    (await db.query(sql`select version from schema_migrations`)).map((row) => readNumber(row, 'version')),
  );
  return migrations.filter((migration) => !applied.has(migration.version));
}
