/**
 * `--dataset-db`: a PostgreSQL database that keeps the loaded search dataset between runs, because
 * loading a million resources takes longer than the measurement. A row in `bench_dataset` is
 * written only after a complete load and names what was loaded (size and a digest of the sample
 * manifest); a later run reuses the database only when both match, and otherwise recreates it and
 * loads again. Read scenarios only (options.ts refuses writes), so the data stay as loaded.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { DatasetLoad } from './dataset-load.ts';
import { samplesPath } from './search-samples-file.ts';

export interface DatasetMarker {
  resources: number;
  samplesDigest: string;
  loadedAt: string;
  load: DatasetLoad;
}

export async function samplesDigest(datasetDir: string): Promise<string> {
  const manifest = await readFile(samplesPath(datasetDir));
  return createHash('sha256').update(manifest).digest('hex');
}

/** The marker of a complete load, or undefined when the database holds none (or a partial load). */
export async function readDatasetMarker(databaseUrl: string): Promise<DatasetMarker | undefined> {
  return withClient(databaseUrl, async (client) => {
    const exists = await client.query(`select to_regclass('bench_dataset') is not null as present`);
    if (exists.rows[0]?.present !== true) return undefined;
    const result = await client.query<{ marker: DatasetMarker }>(
      'select marker from bench_dataset order by loaded_at desc limit 1',
    );
    return result.rows[0]?.marker;
  });
}

export async function writeDatasetMarker(databaseUrl: string, marker: DatasetMarker): Promise<void> {
  await withClient(databaseUrl, async (client) => {
    await client.query('create table if not exists bench_dataset (loaded_at timestamptz, marker jsonb)');
    await client.query('insert into bench_dataset (loaded_at, marker) values ($1, $2)', [
      marker.loadedAt,
      JSON.stringify(marker),
    ]);
  });
}

/** Drops and creates the database again: a partial or different load must not be added to. */
export async function recreateDatabase(sourceUrl: string, name: string): Promise<void> {
  await withClient(sourceUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  });
}

export function databaseUrlFor(sourceUrl: string, name: string): string {
  const url = new URL(sourceUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function databaseExists(sourceUrl: string, name: string): Promise<boolean> {
  return withClient(sourceUrl, async (admin) => {
    const result = await admin.query('select 1 from pg_database where datname = $1', [name]);
    return result.rowCount === 1;
  });
}

export async function createDatabase(sourceUrl: string, name: string): Promise<void> {
  await withClient(sourceUrl, (admin) => admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`));
}

async function withClient<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
