/**
 * `node --import tsx bench/access-overhead.ts [--patients N] [--rounds N]`: what the access decision
 * costs (issue 6: ≤ 15% on read and `Patient?name=`). The same FHIR core and database serve the same
 * requests as the open development principal (no decision) and as a family doctor (the decision
 * of access/access-policy.ts: the patients declared with them through EpisodeOfCare and the
 * Consents that deny them, kept per principal as access/relationship-snapshot.ts describes, and
 * renewed every 5 s during the run), interleaved in rounds so that both see the same caches and the
 * same machine load. It measures the core in-process — the decision lives below HTTP and token
 * verification, which both sides would pay alike. PGlite in memory by default; PostgreSQL when
 * DATABASE_URL is set (a fresh schema).
 *
 * Benchmarks are not tests (STYLE.md): nothing here asserts a timing; it reports and writes
 * bench/results/<date>-access-overhead.json.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { indexResource } from '@concordia/fhir';
import { createAccessRowFilter } from '../packages/server/src/access/access-policy.ts';
import { DECLARATION_TYPE } from '../packages/server/src/access/relationship-sql.ts';
import { type RequestContext, systemContext } from '../packages/server/src/access/request-context.ts';
import { parseScopes } from '../packages/server/src/access/smart-scopes.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { createFhirCore } from '../packages/server/src/fhir/core.ts';
import type { FhirCore } from '../packages/server/src/fhir/interaction.ts';
import { migrate } from '../packages/server/src/store/migrate.ts';
import { openPgliteDatabase } from '../packages/server/src/store/pglite.ts';
import { createPostgresDatabase } from '../packages/server/src/store/postgres.ts';
import { createResourceStore } from '../packages/server/src/store/resource-store.ts';
import { describeCommit, describeMachine } from './results.ts';

const FAMILIES = ['Ferreira', 'Kovalenko', 'Silva', 'Shevchenko', 'Santos', 'Bondarenko', 'Costa', 'Melnyk'];
const GIVEN = ['Ana', 'Oksana', 'Joao', 'Iryna', 'Maria', 'Taras', 'Pedro', 'Olena', 'Rui', 'Lesya'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { patients: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '10' } },
  });
  const patients = Number(values.patients);
  const rounds = Number(values.rounds);
  const url = process.env.DATABASE_URL?.trim();
  const schema = `bench_access_${process.pid}`;
  if (url) {
    const admin = createPostgresDatabase({ connectionString: url, poolSize: 1 });
    await admin.executeScript(`drop schema if exists ${schema} cascade; create schema ${schema}`);
    await admin.close();
  }
  const db = url
    ? createPostgresDatabase({ connectionString: url, poolSize: 4, schema })
    : await openPgliteDatabase({ dataDir: 'memory://' });
  await migrate(db);
  const store = createResourceStore(db, indexResource, { rowFilter: createAccessRowFilter() });
  const config = loadConfig({ LOG_LEVEL: 'silent', CONCORDIA_BASE_URL: 'http://bench.local' });
  const core = createFhirCore({
    store,
    config,
    software: { name: 'Concordia', version: 'bench', releaseDate: '2026-11-24' },
  });
  const declared = await seed(store, patients);
  await store.refreshStatistics();

  const open: RequestContext = { principal: { kind: 'open-development' }, requestId: 'bench-open' };
  const doctor: RequestContext = {
    principal: {
      kind: 'user',
      id: 'bench-doctor',
      roles: ['family-doctor'],
      fhirUser: 'Practitioner/bench-doctor',
      organization: 'Organization/bench-clinic',
      scopes: parseScopes('user/*.rs'),
      clientId: 'bench',
      expiresAt: Number.MAX_SAFE_INTEGER,
    },
    requestId: 'bench-doctor',
  };
  const scenarios = {
    read: (i: number) => ({
      path: `Patient/${declared[i % declared.length]}`,
      query: [] as [string, string][],
    }),
    'search-name': (i: number) => ({
      path: 'Patient',
      query: [['name', FAMILIES[i % FAMILIES.length] ?? 'Silva']] as [string, string][],
    }),
  };
  const results: Record<string, unknown> = {};
  const lines: string[] = [];
  for (const [name, request] of Object.entries(scenarios)) {
    const timings = { open: [] as number[], doctor: [] as number[] };
    const per = 200;
    for (let warm = 0; warm < per; warm++) {
      await run(core, open, request(warm));
      await run(core, doctor, request(warm));
    }
    for (let round = 0; round < rounds; round++) {
      // Alternate which side goes first so neither always meets the warmer cache.
      const order = round % 2 === 0 ? (['open', 'doctor'] as const) : (['doctor', 'open'] as const);
      for (const side of order) {
        const ctx = side === 'open' ? open : doctor;
        for (let i = 0; i < per; i++) {
          const started = performance.now();
          await run(core, ctx, request(round * per + i));
          timings[side].push(performance.now() - started);
        }
      }
    }
    const summary = { open: stats(timings.open), familyDoctor: stats(timings.doctor) };
    const overhead = summary.familyDoctor.mean / summary.open.mean - 1;
    results[name] = { ...summary, overheadOfMean: round3(overhead) };
    lines.push(
      `${name.padEnd(12)} open mean ${summary.open.mean.toFixed(3)} ms p95 ${summary.open.p95.toFixed(3)} ms | ` +
        `family doctor mean ${summary.familyDoctor.mean.toFixed(3)} ms p95 ${summary.familyDoctor.p95.toFixed(3)} ms | ` +
        `overhead ${(overhead * 100).toFixed(1)}%`,
    );
  }
  console.log(lines.join('\n'));
  const date = new Date().toISOString().slice(0, 10);
  const file = join(resolve(import.meta.dirname, 'results'), `${date}-access-overhead.json`);
  await writeFile(
    file,
    `${JSON.stringify(
      {
        scenario: 'access-overhead',
        database: url ? 'postgres' : 'pglite',
        patients,
        declaredWithDoctor: declared.length,
        requestsPerSide: rounds * 200,
        machine: describeMachine(),
        commit: describeCommit(resolve(import.meta.dirname, '..')),
        results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results written to ${file}`);
  await store.close();
  if (url) {
    const admin = createPostgresDatabase({ connectionString: url, poolSize: 1 });
    await admin.executeScript(`drop schema if exists ${schema} cascade`);
    await admin.close();
  }
}

async function run(
  core: FhirCore,
  ctx: RequestContext,
  request: { path: string; query: [string, string][] },
) {
  const response = await core.handle(ctx, {
    method: 'GET',
    path: request.path,
    query: request.query,
    headers: {},
  });
  if (response.status !== 200) throw new Error(`${request.path} answered ${response.status}`);
}

/** `patients` Patients with three Observations each; every other one declared with the doctor. */
async function seed(store: ReturnType<typeof createResourceStore>, patients: number): Promise<string[]> {
  const declared: string[] = [];
  const ctx = systemContext('bench-seed');
  for (let start = 0; start < patients; start += 250) {
    await store.transact(ctx, async (tx) => {
      for (let n = start; n < Math.min(patients, start + 250); n++) {
        const id = `p-${n}`;
        const write = (resource: { resourceType: string; id: string; [key: string]: unknown }) =>
          tx.apply(ctx, { kind: 'write', method: 'PUT', resource });
        await write({
          resourceType: 'Patient',
          id,
          name: [{ family: FAMILIES[n % FAMILIES.length], given: [GIVEN[n % GIVEN.length]] }],
          birthDate: `19${String(40 + (n % 60)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 10}`,
        });
        for (let o = 0; o < 3; o++) {
          await write({
            resourceType: 'Observation',
            id: `${id}-o${o}`,
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
            subject: { reference: `Patient/${id}` },
            valueQuantity: { value: 60 + o, unit: '/min' },
          });
        }
        const doctor = n % 2 === 0 ? 'bench-doctor' : `other-doctor-${n % 20}`;
        await write({
          resourceType: 'EpisodeOfCare',
          id: `${id}-declaration`,
          status: 'active',
          type: [{ coding: [{ ...DECLARATION_TYPE }] }],
          patient: { reference: `Patient/${id}` },
          careManager: { reference: `Practitioner/${doctor}` },
        });
        if (doctor === 'bench-doctor') declared.push(id);
      }
    });
  }
  return declared;
}

function stats(samples: number[]): { mean: number; p50: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return { mean: round3(mean), p50: round3(at(0.5)), p95: round3(at(0.95)) };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

await main();
