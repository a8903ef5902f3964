/**
 * `node --import tsx bench/access-overhead.ts [--patients N] [--rounds N]`: what the access decision
 * costs (issue 6: ≤ 15% on read and `Patient?name=`). The same FHIR core and database serve the same
 * requests as the open development principal (no decision) and as a family doctor (the decision
 * of access/access-policy.ts: the patients declared with them through EpisodeOfCare and the
 * Consents that deny them, kept per principal as access/relationship-snapshot.ts describes, and
 * renewed every 5 s during the run), request by request in an order drawn anew for each, so that
 * both see the same caches and the same machine load. A third side, the open principal again,
 * measures how far two identical sides differ in the same run: an overhead within that is noise.
 * It measures the core in-process — the decision lives below HTTP and token verification, which
 * both sides would pay alike. PGlite in memory by default; PostgreSQL when DATABASE_URL is set (a
 * fresh schema).
 *
 * Wall-clock means move with whatever else the machine runs, so each side's CPU time is measured
 * too: this process's (`process.cpuUsage`, PGlite included) and, on a PostgreSQL on this host, that
 * of the bench's database connections (`/proc/<backend pid>/schedstat`, found by their
 * application_name). The CPU overhead is the figure to compare on a busy machine.
 *
 * Benchmarks are not tests (STYLE.md): nothing here asserts a timing; it reports and writes
 * bench/results/<date>-access-overhead.json.
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
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
import { sql } from '../packages/server/src/store/sql.ts';
import { backendCpu, cpuBetween, withApplicationName } from './backend-cpu.ts';
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
  const application = `bench_access_${process.pid}`;
  const db = url
    ? createPostgresDatabase({ connectionString: withApplicationName(url, application), poolSize: 4, schema })
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
  const backends = url ? await backendCpu(db, application) : undefined;
  const contexts: Record<Side, RequestContext> = {
    open,
    doctor,
    control: { ...open, requestId: 'bench-control' },
  };
  const random = seededRandom(6);
  const results: Record<string, unknown> = {};
  const lines: string[] = [];
  const loadBefore = loadavg()[0] ?? 0;
  for (const [name, request] of Object.entries(scenarios)) {
    const timings: Record<Side, number[]> = { open: [], doctor: [], control: [] };
    const cpu: Record<Side, { node: number; db: number }> = {
      open: { node: 0, db: 0 },
      doctor: { node: 0, db: 0 },
      control: { node: 0, db: 0 },
    };
    const per = 200;
    for (let warm = 0; warm < per; warm++) {
      for (const side of SIDES) await run(core, contexts[side], request(warm));
    }
    for (let round = 0; round < rounds; round++) {
      const reading = await backends?.();
      for (let i = 0; i < per; i++) {
        // Request by request, in an order drawn anew each time: a garbage collection, a compilation
        // or a neighbour's burst falls on any side alike. Sides measured in batches took them in a
        // pattern of their own: one open side measured 30–45% dearer reads than an identical one.
        for (const side of shuffled(SIDES, random)) {
          const dbBefore = reading?.();
          const started = performance.now();
          const nodeBefore = process.cpuUsage();
          await run(core, contexts[side], request(round * per + i));
          const node = process.cpuUsage(nodeBefore);
          timings[side].push(performance.now() - started);
          cpu[side].node += (node.user + node.system) / 1000;
          cpu[side].db += cpuBetween(dbBefore, reading?.());
        }
      }
    }
    const summary = {
      open: stats(timings.open),
      familyDoctor: stats(timings.doctor),
      control: stats(timings.control),
    };
    const overhead = summary.familyDoctor.mean / summary.open.mean - 1;
    const requests = rounds * per;
    const perRequest = (side: Side) => ({
      nodeMs: round3(cpu[side].node / requests),
      ...(backends ? { databaseMs: round3(cpu[side].db / requests) } : {}),
      totalMs: round3((cpu[side].node + cpu[side].db) / requests),
    });
    const cpuOpen = perRequest('open');
    const cpuDoctor = perRequest('doctor');
    const cpuControl = perRequest('control');
    const cpuOverhead = cpuDoctor.totalMs / cpuOpen.totalMs - 1;
    const controlOverhead = cpuControl.totalMs / cpuOpen.totalMs - 1;
    results[name] = {
      ...summary,
      overheadOfMean: round3(overhead),
      cpuPerRequest: { open: cpuOpen, familyDoctor: cpuDoctor, control: cpuControl },
      cpuOverhead: round3(cpuOverhead),
      controlCpuOverhead: round3(controlOverhead),
    };
    const database = (side: typeof cpuOpen) =>
      side.databaseMs === undefined ? '' : ` (database ${side.databaseMs.toFixed(3)})`;
    lines.push(
      `${name.padEnd(12)} open mean ${summary.open.mean.toFixed(3)} ms p95 ${summary.open.p95.toFixed(3)} ms | ` +
        `family doctor mean ${summary.familyDoctor.mean.toFixed(3)} ms p95 ${summary.familyDoctor.p95.toFixed(3)} ms | ` +
        `overhead ${(overhead * 100).toFixed(1)}%`,
      `${''.padEnd(12)} CPU per request: open ${cpuOpen.totalMs.toFixed(3)} ms${database(cpuOpen)} | ` +
        `family doctor ${cpuDoctor.totalMs.toFixed(3)} ms${database(cpuDoctor)} | overhead ${(cpuOverhead * 100).toFixed(1)}%`,
      `${''.padEnd(12)} control (open again) ${cpuControl.totalMs.toFixed(3)} ms${database(cpuControl)}: ` +
        `${(controlOverhead * 100).toFixed(1)}% — the noise of this run`,
    );
  }
  const loadAfter = loadavg()[0] ?? 0;
  lines.push(`load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
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
        loadAverage: { before: loadBefore, after: loadAfter },
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

type Side = (typeof SIDES)[number];

/** The family doctor against the open principal, and the open principal against itself (control). */
const SIDES = ['open', 'doctor', 'control'] as const;

/** mulberry32: the same order in every run of the bench. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const item = result[i];
    const other = result[j];
    if (item === undefined || other === undefined) continue;
    result[i] = other;
    result[j] = item;
  }
  return result;
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
