/**
 * `DATABASE_URL=postgres://… node --import tsx bench/audit-overhead.ts [--rounds 6] [--requests 2000]
 * [--scenarios read,create,ingest]`:
 * what audit and ledger cost a read, a create and a Synthea transaction's resources (issue 7:
 * throughput with them on ≥ 90% of off for reads, ≥ 85% for creates and ingest), counted in CPU
 * rather than timed, so that it can be measured on a busy machine.
 *
 * Two sets of components, as `serve` composes them (main.ts `buildComponents`), share one fresh
 * schema: one with audit and ledger on (the access-log spool in a temporary directory, the ledger
 * sequenced and signed at the end of each of its blocks, as the sequencer does every second), one
 * with both off. Each has its own connection pool, named in `pg_stat_activity`, so the database's
 * CPU is counted per side (backend-cpu.ts). Rounds run a block of requests on each side, ten at a
 * time, in an order drawn anew each round; a block of the audited side ends once its rows are
 * committed and its leaves sequenced, so what it caused is counted in it.
 *
 * The figure is CPU per request (Node process plus the side's PostgreSQL backends) and the ratio
 * off ÷ on: the throughput ratio a CPU-bound run would show without HTTP. The HTTP bench
 * (`npm run bench -- read create ingest --without audit,ledger`) adds the same HTTP and
 * load-generator cost to both sides, so its ratio is higher than this one. Benchmarks are not
 * tests (STYLE.md): nothing here asserts; results go to bench/results/<date>-audit-overhead.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { RequestContext } from '../packages/server/src/access/request-context.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import type { FhirCore, FhirRequest } from '../packages/server/src/fhir/interaction.ts';
import { SecretBox } from '../packages/server/src/identity/secret-box.ts';
import { createLedger } from '../packages/server/src/ledger/ledger.ts';
import { buildComponents } from '../packages/server/src/main.ts';
import { createLogger } from '../packages/server/src/ops/logger.ts';
import { migrate } from '../packages/server/src/store/migrate.ts';
import { createPostgresDatabase } from '../packages/server/src/store/postgres.ts';
import { identifier, sql } from '../packages/server/src/store/sql.ts';
import { type BackendCpu, backendCpu, cpuBetween, withApplicationName } from './backend-cpu.ts';
import { benchPatient } from './patient-fixture.ts';
import { describeCommit, describeMachine } from './results.ts';
import { syntheaBundleFiles } from './synthea-bundles.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '10' },
    scenarios: { type: 'string', default: 'read,create,ingest' },
  },
});
const chosen = new Set(values.scenarios.split(','));
const rounds = Number(values.rounds);
const requestsPerBlock = Number(values.requests);
const concurrency = Number(values.concurrency);
const url = process.env.DATABASE_URL;
if (url === undefined) throw new Error('Set DATABASE_URL to a PostgreSQL database on this host');

type Side = 'on' | 'off';
interface Scenario {
  name: string;
  /** Requests a block sends (a transaction counts its entries as its work). */
  requests: number;
  request(n: number): FhirRequest;
  /** What one answer did: resources for a transaction, 1 otherwise. */
  work(request: FhirRequest): number;
}

const repoRoot = resolve(import.meta.dirname, '..');
const schema = `audit_bench_${process.pid}`;
const spoolDir = await mkdtemp(join(tmpdir(), 'concordia-audit-bench-'));
const admin = createPostgresDatabase({ connectionString: url, poolSize: 1 });
await admin.query(sql`create schema ${identifier(schema)}`);
const ctx: RequestContext = { principal: { kind: 'open-development' }, requestId: 'bench' };
try {
  const pools = {
    on: createPostgresDatabase({
      connectionString: withApplicationName(url, `${schema}_on`),
      poolSize: concurrency,
      schema,
    }),
    off: createPostgresDatabase({
      connectionString: withApplicationName(url, `${schema}_off`),
      poolSize: concurrency,
      schema,
    }),
  };
  await migrate(pools.on);
  const env = {
    LOG_LEVEL: 'silent',
    CONCORDIA_AUTH: 'insecure-demo',
    CONCORDIA_BASE_URL: 'http://bench.test',
  };
  const onConfig = loadConfig({ ...env, CONCORDIA_DATA_DIR: spoolDir });
  const offConfig = loadConfig({ ...env, CONCORDIA_AUDIT: 'off', CONCORDIA_LEDGER: 'off' });
  const logger = createLogger(onConfig);
  const components = {
    on: await buildComponents(pools.on, onConfig, logger),
    off: await buildComponents(pools.off, offConfig, logger),
  };
  const ledger = await createLedger({
    db: pools.on,
    config: onConfig.ledger,
    box: new SecretBox(randomBytes(32)),
    logger,
  });
  const settle = async (side: Side): Promise<void> => {
    if (side === 'off') return;
    await components.on.audit.sink.flush();
    await ledger.integrate();
  };

  const seeded: string[] = [];
  for (let n = 0; n < 500; n++) {
    const answer = await components.off.core.handle(ctx, post('Patient', benchPatient(n)));
    seeded.push(idOf(answer.headers?.location));
  }
  const bundles = await Promise.all(
    (await syntheaBundleFiles(repoRoot, 20)).map(async (file) => {
      const bytes = await readFile(file);
      return JSON.parse((file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')) as {
        entry?: unknown[];
      };
    }),
  );
  const scenarios: Scenario[] = [
    {
      name: 'read',
      requests: requestsPerBlock,
      request: (n) => ({
        method: 'GET',
        path: `Patient/${seeded[n % seeded.length]}`,
        query: [],
        headers: {},
      }),
      work: () => 1,
    },
    {
      name: 'create',
      requests: Math.ceil(requestsPerBlock / 4),
      request: (n) => post('Patient', benchPatient(seeded.length + n)),
      work: () => 1,
    },
  ];
  if (bundles.length > 0) {
    scenarios.push({
      name: 'ingest',
      requests: Math.max(concurrency, Math.ceil(requestsPerBlock / 200)),
      request: (n) => post('', bundles[n % bundles.length]),
      work: (request) => {
        const body = request.body as { entry?: unknown[] };
        return body.entry?.length ?? 0;
      },
    });
  }

  const selected = scenarios.filter((scenario) => chosen.has(scenario.name));
  const readers = {
    on: await backendCpu(pools.on, `${schema}_on`),
    off: await backendCpu(pools.off, `${schema}_off`),
  };
  /** Request numbers are never reused, so that every create makes a new Patient. */
  let sent = 0;
  const block = async (side: Side, scenario: Scenario) => {
    const first = sent;
    sent += scenario.requests;
    const reader = await readers[side]?.();
    const dbBefore: BackendCpu | undefined = reader?.();
    const nodeBefore = process.cpuUsage();
    let next = first;
    let work = 0;
    const worker = async () => {
      while (next < first + scenario.requests) {
        const request = scenario.request(next);
        next += 1;
        const answer = await components[side].core.handle(ctx, request);
        if (answer.status >= 300) throw new Error(`${scenario.name} on ${side} answered ${answer.status}`);
        work += scenario.work(request);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await settle(side);
    const node = process.cpuUsage(nodeBefore);
    return { work, nodeMs: (node.user + node.system) / 1000, dbMs: cpuBetween(dbBefore, reader?.()) };
  };

  const results: Record<string, unknown> = {};
  const lines: string[] = [];
  const loadBefore = loadavg()[0] ?? 0;
  for (const scenario of selected) {
    // Warm-up: JIT, prepared statements, pools.
    for (const side of ['on', 'off'] as const) await block(side, scenario);
    const perRound: { on: PerWork; off: PerWork; ratio: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const measured: Partial<Record<Side, PerWork>> = {};
      for (const side of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const { work, nodeMs, dbMs } = await block(side, scenario);
        measured[side] = { nodeUs: (1000 * nodeMs) / work, dbUs: (1000 * dbMs) / work };
      }
      const on = measured.on as PerWork;
      const off = measured.off as PerWork;
      perRound.push({ on, off, ratio: (off.nodeUs + off.dbUs) / (on.nodeUs + on.dbUs) });
    }
    const median = <T>(items: T[], value: (item: T) => number): number =>
      items.map(value).sort((a, b) => a - b)[Math.floor(items.length / 2)] ?? Number.NaN;
    const summary = {
      on: { nodeUs: median(perRound, (r) => r.on.nodeUs), dbUs: median(perRound, (r) => r.on.dbUs) },
      off: { nodeUs: median(perRound, (r) => r.off.nodeUs), dbUs: median(perRound, (r) => r.off.dbUs) },
      ratio: median(perRound, (r) => r.ratio),
    };
    results[scenario.name] = { ...summary, rounds: perRound };
    const unit = scenario.name === 'ingest' ? 'resource' : 'request';
    lines.push(
      `${scenario.name.padEnd(7)} CPU per ${unit}: on ${summary.on.nodeUs.toFixed(0)} µs Node + ${summary.on.dbUs.toFixed(0)} µs database, ` +
        `off ${summary.off.nodeUs.toFixed(0)} + ${summary.off.dbUs.toFixed(0)} µs; off ÷ on ${(100 * summary.ratio).toFixed(1)}% ` +
        `(rounds ${perRound.map((r) => `${(100 * r.ratio).toFixed(0)}%`).join(', ')})`,
    );
  }
  const loadAfter = loadavg()[0] ?? 0;
  lines.push(`load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
  console.log(lines.join('\n'));
  const file = join(
    repoRoot,
    'bench',
    'results',
    `${new Date().toISOString().slice(0, 10)}-audit-overhead.json`,
  );
  await writeFile(
    file,
    `${JSON.stringify(
      {
        scenario: 'audit-overhead',
        concurrency,
        requestsPerBlock,
        machine: describeMachine(),
        loadAverage: { before: loadBefore, after: loadAfter },
        commit: describeCommit(repoRoot),
        results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results written to ${file}`);
  await components.on.audit.close();
  await components.off.audit.close();
  await components.on.worker.stop();
  await components.off.worker.stop();
  await pools.on.close();
  await pools.off.close();
} finally {
  await admin.query(sql`drop schema ${identifier(schema)} cascade`);
  await admin.close();
  await rm(spoolDir, { recursive: true, force: true });
}

interface PerWork {
  nodeUs: number;
  dbUs: number;
}

function post(path: string, body: unknown): FhirRequest {
  return { method: 'POST', path, query: [], headers: {}, body };
}

/** The id in a create's `Location` (`…/Patient/<id>/_history/1`). */
function idOf(location: string | undefined): string {
  const id = /\/Patient\/([^/]+)\/_history\//.exec(location ?? '')?.[1];
  if (id === undefined) throw new Error(`a seeding create answered without a location: ${location}`);
  return id;
}
