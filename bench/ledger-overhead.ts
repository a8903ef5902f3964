/**
 * `node --import tsx bench/ledger-overhead.ts [--rounds 5] [--seconds 10] [--concurrency 10]`:
 * what the ledger costs a create, measured in-process on PostgreSQL (`DATABASE_URL`) without HTTP,
 * so that the figure is the store's and the ledger's, not the HTTP stack's noise.
 *
 * Two sets of components share one fresh schema: one with the ledger (its recorder, and the
 * sequencer signing checkpoints every second as `serve` does), one without. The audit is off in
 * both, so the difference is the ledger alone. Rounds alternate which goes first; the report is
 * the median of the per-round ratios. A benchmark, not a test: it asserts nothing and writes
 * its figures to bench/results/<date>-ledger-overhead.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { RequestContext } from '../packages/server/src/access/request-context.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import type { FhirCore } from '../packages/server/src/fhir/interaction.ts';
import { SecretBox } from '../packages/server/src/identity/secret-box.ts';
import { createLedger } from '../packages/server/src/ledger/ledger.ts';
import { buildComponents } from '../packages/server/src/main.ts';
import { createLogger } from '../packages/server/src/ops/logger.ts';
import { migrate } from '../packages/server/src/store/migrate.ts';
import { createPostgresDatabase } from '../packages/server/src/store/postgres.ts';
import { identifier, sql } from '../packages/server/src/store/sql.ts';
import { benchPatient } from './patient-fixture.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '10' },
    // `off`: entries only, no sequencing during the measurement (splits the cost in two).
    sequencer: { type: 'string', default: 'on' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl === undefined) throw new Error('Set DATABASE_URL to a PostgreSQL database');

const schema = `ledger_bench_${process.pid}`;
const admin = createPostgresDatabase({ connectionString: databaseUrl, poolSize: 1 });
await admin.query(sql`create schema ${identifier(schema)}`);
const database = createPostgresDatabase({ connectionString: databaseUrl, poolSize: concurrency * 2, schema });
const ctx: RequestContext = { principal: { kind: 'open-development' }, requestId: 'bench' };
try {
  await migrate(database);
  const env = {
    LOG_LEVEL: 'silent',
    CONCORDIA_AUTH: 'insecure-demo',
    CONCORDIA_AUDIT: 'off',
    CONCORDIA_BASE_URL: 'http://bench.test',
  };
  const withConfig = loadConfig({ ...env, CONCORDIA_LEDGER: 'on' });
  const withoutConfig = loadConfig({ ...env, CONCORDIA_LEDGER: 'off' });
  const logger = createLogger(withConfig);
  const withLedger = await buildComponents(database, withConfig, logger);
  const withoutLedger = await buildComponents(database, withoutConfig, logger);
  const ledger = await createLedger({
    db: database,
    config: withConfig.ledger,
    box: new SecretBox(randomBytes(32)),
    logger,
  });

  let n = 0;
  const createFor = async (core: FhirCore, until: number): Promise<number> => {
    let created = 0;
    const worker = async () => {
      while (performance.now() < until) {
        n += 1;
        const answer = await core.handle(ctx, {
          method: 'POST',
          path: 'Patient',
          query: [],
          headers: {},
          body: benchPatient(n),
        });
        if (answer.status !== 201) throw new Error(`create answered ${answer.status}`);
        created += 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return created;
  };
  const measure = async (on: boolean): Promise<number> => {
    if (on && values.sequencer === 'on') ledger.start();
    const started = performance.now();
    const created = await createFor(on ? withLedger.core : withoutLedger.core, started + seconds * 1000);
    const rate = created / ((performance.now() - started) / 1000);
    if (on) await ledger.stop();
    return rate;
  };
  // Warm-up: JIT, prepared statements, pool.
  await measure(true);
  await measure(false);
  const ratios: number[] = [];
  const rows: { round: number; withLedger: number; withoutLedger: number; ratio: number }[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    const first = round % 2 === 1;
    const a = await measure(first);
    const b = await measure(!first);
    const [on, off] = first ? [a, b] : [b, a];
    ratios.push(on / off);
    rows.push({ round, withLedger: on, withoutLedger: off, ratio: on / off });
    console.log(
      `round ${round}/${rounds}: with ledger ${on.toFixed(0)} creates/s, without ${off.toFixed(0)} creates/s: ${((100 * on) / off).toFixed(1)}%`,
    );
  }
  const median = [...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 2)] ?? Number.NaN;
  const sequenced = await ledger.integrate();
  console.log(
    `median: create with ledger at ${(100 * median).toFixed(1)}% of the rate without (target ≥ 85%); tree size ${sequenced?.treeSize ?? 0}`,
  );
  const resultsDir = join(resolve(import.meta.dirname), 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(
    join(resultsDir, `${new Date().toISOString().slice(0, 10)}-ledger-overhead.json`),
    `${JSON.stringify({ scenario: 'create in-process, audit off', concurrency, seconds, rounds: rows, medianRatio: median }, null, 2)}\n`,
  );
  await withLedger.store.close().catch(() => undefined);
} finally {
  await admin.query(sql`drop schema ${identifier(schema)} cascade`);
  await admin.close();
}
