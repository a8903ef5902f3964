/**
 * The database a bench run writes to. On PostgreSQL the run gets its own scratch database beside
 * the one DATABASE_URL names, so the table sizes it measures are its own and nothing of the
 * user's data is touched; on PGlite it gets a fresh data directory.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, databaseExists, databaseUrlFor } from './dataset-database.ts';

export interface BenchDatabase {
  kind: 'postgresql' | 'pglite';
  /** `postgres://…` of the scratch database; undefined for PGlite. */
  databaseUrl?: string;
  /** Where PGlite keeps its files (CONCORDIA_DATA_DIR of the servers under test). */
  dataDir: string;
  /** Server or package version, for the results file. */
  version: string;
  /** Set when the database is a kept `--dataset-db` (dataset-database.ts): its name. */
  datasetDatabase?: string;
  /** Drops the scratch database unless the run keeps its data. */
  dispose(): Promise<void>;
}

export async function prepareDatabase(options: {
  sourceUrl: string | undefined;
  dataDir: string;
  keepData: boolean;
  repoRoot: string;
  datasetDatabase?: string;
}): Promise<BenchDatabase> {
  const { sourceUrl, dataDir, keepData, repoRoot, datasetDatabase } = options;
  if (datasetDatabase !== undefined) {
    if (sourceUrl === undefined) throw new Error('--dataset-db needs DATABASE_URL (PostgreSQL)');
    const version = await postgresVersion(sourceUrl);
    return prepareDatasetDatabase({ sourceUrl, name: datasetDatabase, dataDir, version });
  }
  if (sourceUrl === undefined) {
    await mkdir(dataDir, { recursive: true });
    return { kind: 'pglite', dataDir, version: await pgliteVersion(repoRoot), dispose: async () => {} };
  }

  const admin = new pg.Client({ connectionString: sourceUrl });
  await admin.connect();
  try {
    const version = await postgresVersion(sourceUrl);
    const scratchName = `concordia_bench_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${process.pid}`;
    try {
      // Identifiers cannot be bind parameters; the name is ours and escaped all the same.
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(scratchName)}`);
    } catch (error) {
      console.warn(
        `Could not create a scratch database (${error instanceof Error ? error.message : String(error)}); ` +
          'benchmarking in the DATABASE_URL database itself.',
      );
      return { kind: 'postgresql', databaseUrl: sourceUrl, dataDir, version, dispose: async () => {} };
    }
    const scratchUrl = new URL(sourceUrl);
    scratchUrl.pathname = `/${scratchName}`;
    return {
      kind: 'postgresql',
      databaseUrl: scratchUrl.toString(),
      dataDir,
      version,
      dispose: () => (keepData ? announceKept(scratchName) : dropDatabase(sourceUrl, scratchName)),
    };
  } finally {
    await admin.end();
  }
}

/** The named `--dataset-db` beside `sourceUrl`, created when missing; never dropped by the run. */
async function prepareDatasetDatabase(options: {
  sourceUrl: string;
  name: string;
  dataDir: string;
  version: string;
}): Promise<BenchDatabase> {
  const { sourceUrl, name, dataDir, version } = options;
  if (!(await databaseExists(sourceUrl, name))) await createDatabase(sourceUrl, name);
  return {
    kind: 'postgresql',
    databaseUrl: databaseUrlFor(sourceUrl, name),
    dataDir,
    version,
    datasetDatabase: name,
    dispose: async () => console.log(`Kept the dataset database ${name} for later runs (--dataset-db).`),
  };
}

async function postgresVersion(sourceUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: sourceUrl });
  await client.connect();
  try {
    const row = await client.query<{ server_version: string }>('show server_version');
    return `PostgreSQL ${row.rows[0]?.server_version ?? 'unknown'}`;
  } finally {
    await client.end();
  }
}

async function dropDatabase(sourceUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: sourceUrl });
  await admin.connect();
  try {
    // FORCE: a server that did not shut down cleanly may still hold connections.
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function announceKept(name: string): Promise<void> {
  console.log(`Kept scratch database ${name}.`);
}

async function pgliteVersion(repoRoot: string): Promise<string> {
  const manifestPath = join(repoRoot, 'node_modules', '@electric-sql', 'pglite', 'package.json');
  const manifest: unknown = JSON.parse(await readFile(manifestPath, 'utf8'));
  const version =
    typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined;
  return `PGlite ${typeof version === 'string' ? version : 'unknown'}`;
}
