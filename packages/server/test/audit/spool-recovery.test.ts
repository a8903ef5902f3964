/**
 * Reads are answered once their access-log row is in the node's spool (audit/access-spool.ts), not
 * once it is committed. A real server process is killed (SIGKILL) while its answered reads' rows
 * are still uncommitted; the next start stores each of them exactly once, with its ledger leaf
 * (`ledger verify` agrees), and deletes the spool. On PGlite and on PostgreSQL.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.ts';
import { openPgliteDatabase } from '../../src/store/pglite.ts';
import { createPostgresDatabase } from '../../src/store/postgres.ts';
import { identifier, sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';

const CLI = join(import.meta.dirname, '../../src/cli.ts');
const READS = 25;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

interface Running {
  child: ChildProcess;
  base: string;
  exited: Promise<void>;
}

async function startServer(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: {
      ...inherited,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      CONCORDIA_AUTH: 'insecure-demo',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited: ${stderr}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { child, base, exited };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server did not become ready: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stop(server: Running, signal: NodeJS.Signals): Promise<void> {
  server.child.kill(signal);
  await server.exited;
}

function verifyLedger(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, 'ledger', 'verify'],
      { env: { ...inherited, ...env, LOG_LEVEL: 'warn' } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr }),
    );
  });
}

for (const database of testDatabases()) {
  describe(`the access-log spool across a crash on ${database.name}`, () => {
    let dataDir: string;
    let env: Record<string, string>;
    let open: () => Database;
    let dropDatabase = async (): Promise<void> => {};

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'concordia-spool-'));
      env = { CONCORDIA_DATA_DIR: dataDir };
      if (database.name === 'postgres') {
        const url = new URL(process.env.DATABASE_URL ?? '');
        const name = `concordia_spool_${process.pid}_${Date.now()}`;
        const admin = createPostgresDatabase({ connectionString: url.href, poolSize: 1 });
        await admin.query(sql`create database ${identifier(name)}`);
        url.pathname = `/${name}`;
        env.DATABASE_URL = url.href;
        open = () => createPostgresDatabase({ connectionString: url.href, poolSize: 1 });
        dropDatabase = async () => {
          await admin.query(sql`drop database if exists ${identifier(name)} with (force)`);
          await admin.close();
        };
      } else {
        open = () => {
          throw new Error('opened asynchronously');
        };
      }
    }, 30_000);

    afterAll(async () => {
      await dropDatabase();
      await rm(dataDir, { recursive: true, force: true });
    });

    async function query<T>(work: (db: Database) => Promise<T>): Promise<T> {
      const db =
        database.name === 'postgres'
          ? open()
          : await openPgliteDatabase({ dataDir: join(dataDir, 'pglite') });
      try {
        return await work(db);
      } finally {
        await db.close();
      }
    }

    it('stores every answered read exactly once after SIGKILL, with its ledger leaf, and removes the spool', async () => {
      // Rows linger for ten minutes: nothing is committed before the kill.
      const first = await startServer({ ...env, CONCORDIA_AUDIT_SPOOLED_FLUSH_MS: '600000' });
      let id: string;
      try {
        const created = await fetch(`${first.base}/fhir/Patient`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Spooled' }] }),
        });
        expect(created.status).toBe(201);
        id = String(((await created.json()) as { id: string }).id);
        const reads = await Promise.all(
          Array.from({ length: READS }, () => fetch(`${first.base}/fhir/Patient/${id}`)),
        );
        expect(reads.map((read) => read.status)).toEqual(Array(READS).fill(200));
        const spoolRoot = join(dataDir, 'audit-spool');
        const [databaseDir] = await readdir(spoolRoot);
        const files = await readdir(join(spoolRoot, String(databaseDir)));
        expect(files).toHaveLength(1);
        const lines = (await readFile(join(spoolRoot, String(databaseDir), String(files[0])), 'utf8'))
          .trim()
          .split('\n');
        expect(lines.filter((line) => line.includes(`Patient/${id}`))).toHaveLength(READS);
      } finally {
        await stop(first, 'SIGKILL');
      }
      const stored = (): Promise<number> =>
        query(async (db) => {
          const [row] = await db.query(
            sql`select count(*)::int as reads from audit_access where interaction = 'read' and ${`Patient/${id}`} = any(entities)`,
          );
          return Number(row?.reads);
        });
      expect(await stored()).toBe(0);

      const second = await startServer(env);
      await stop(second, 'SIGTERM');
      expect(await stored()).toBe(READS);
      const spoolRoot = join(dataDir, 'audit-spool');
      for (const databaseDir of await readdir(spoolRoot))
        expect(await readdir(join(spoolRoot, databaseDir))).toEqual([]);

      // A third start finds nothing left to store: no row twice.
      const third = await startServer(env);
      await stop(third, 'SIGTERM');
      expect(await stored()).toBe(READS);
      const verified = await verifyLedger(env);
      expect(verified.output).not.toMatch(/unrecorded|altered|missing/i);
      expect(verified.code).toBe(0);
    }, 240_000);
  });
}
