/**
 * Speed figures of the terminology service on the real ICD-10-CM (issue 5): the full import
 * (≤ 60 s), `$validate-code` at 20 concurrent clients (p99 ≤ 5 ms) and `$expand` with a text filter
 * over the whole code system (p99 ≤ 50 ms), measured at the service (no HTTP), expansion cache off.
 * PGlite in memory by default; PostgreSQL in a throw-away schema with DATABASE_URL set:
 *
 *   node --import tsx scripts/measure-terminology.ts [order-file]
 */
import { join } from 'node:path';
import { systemContext } from '../packages/server/src/access/request-context.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { buildComponents } from '../packages/server/src/main.ts';
import { createLogger } from '../packages/server/src/ops/logger.ts';
import type { Database } from '../packages/server/src/store/database.ts';
import { migrate } from '../packages/server/src/store/migrate.ts';
import { openPgliteDatabase } from '../packages/server/src/store/pglite.ts';
import { createPostgresDatabase } from '../packages/server/src/store/postgres.ts';
import { identifier, sql } from '../packages/server/src/store/sql.ts';
import { ICD10CM_URL } from '../packages/server/src/terminology/import/icd10cm.ts';
import { readIcd10cmOrderFile } from '../packages/server/src/terminology/import/icd10cm-order.ts';
import { loadCodeSystem } from '../packages/server/src/terminology/load-code-system.ts';
import { createTerminologyService } from '../packages/server/src/terminology/sql-terminology-service.ts';

const input =
  process.argv[2] ??
  join(import.meta.dirname, '../../shared/data/codes/icd10cm-2021-cdc/icd10cm-order-Jan-2021.txt.gz');
const CLIENTS = 20;
const ctx = systemContext('measure');

async function open(): Promise<{ db: Database; done(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url === undefined) {
    const db = await openPgliteDatabase({ dataDir: 'memory://' });
    return { db, done: () => db.close() };
  }
  const schema = `terminology_measure_${process.pid}`;
  const admin = createPostgresDatabase({ connectionString: url, poolSize: 1 });
  await admin.query(sql`create schema ${identifier(schema)}`);
  const db = createPostgresDatabase({ connectionString: url, poolSize: CLIENTS, schema });
  return {
    db,
    async done() {
      await db.close();
      await admin.query(sql`drop schema ${identifier(schema)} cascade`);
      await admin.close();
    },
  };
}

/** `calls` calls spread over CLIENTS concurrent clients; latencies in ms, sorted. */
async function underLoad(
  calls: number,
  call: (index: number) => Promise<unknown>,
  clients = CLIENTS,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < calls) {
        const index = next++;
        const started = performance.now();
        await call(index);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

function report(name: string, latencies: number[], seconds: number, clients = CLIENTS): void {
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  console.log(
    `${name}: ${latencies.length} calls, ${clients} clients, ${(latencies.length / seconds).toFixed(0)}/s, ` +
      `p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${at(1).toFixed(2)} ms`,
  );
}

const { db, done } = await open();
try {
  await migrate(db);
  const started = performance.now();
  const loaded = await loadCodeSystem(db, readIcd10cmOrderFile(input));
  console.log(
    `${db.kind} import: ${loaded.concepts} concepts in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  await db.executeScript('analyze').catch(() => undefined);

  const config = loadConfig({ LOG_LEVEL: 'silent', CONCORDIA_BASE_URL: 'http://measure.test' });
  const { store, audit } = await buildComponents(db, config, createLogger(config));
  const terminology = createTerminologyService(db, { store, expansionCacheSize: 0 });
  const rows = await db.query(sql`select c.code, c.display from concept c order by random() limit 2000`);
  const codes = rows.map((row) => ({ code: String(row.code), display: String(row.display) }));
  const words = [
    ...new Set(
      codes.flatMap((coding) =>
        coding.display
          .toLowerCase()
          .split(/[^a-z]+/)
          .filter((w) => w.length > 3),
      ),
    ),
  ];

  for (const round of ['warm-up', 'measured']) {
    let t0 = performance.now();
    const validate = await underLoad(10_000, (i) => {
      const coding = codes[i % codes.length] ?? { code: 'A00' };
      // One call in ten asks for a code that does not exist.
      return terminology.validateCode(ctx, {
        system: ICD10CM_URL,
        code: i % 10 === 0 ? `${coding.code}Q` : coding.code,
      });
    });
    if (round === 'measured')
      report('$validate-code (code system)', validate, (performance.now() - t0) / 1000);

    const all = { resourceType: 'ValueSet', compose: { include: [{ system: ICD10CM_URL }] } };
    const filterText = (i: number): string => {
      const word = words[i % words.length] ?? 'asthma';
      // A prefix of 3–6 letters, as typed in a search box; every third filter has two words.
      const prefix = word.slice(0, 3 + (i % 4));
      const second = i % 3 === 0 ? ` ${(words[(i * 7) % words.length] ?? '').slice(0, 3)}` : '';
      return `${prefix}${second}`;
    };
    for (const clients of [1, CLIENTS]) {
      t0 = performance.now();
      const expand = await underLoad(
        1_000,
        (i) => terminology.expand(ctx, { valueSet: all, filter: filterText(i), count: 20 }),
        clients,
      );
      if (round === 'measured') {
        report('$expand filter over ICD-10-CM (count 20)', expand, (performance.now() - t0) / 1000, clients);
      }
    }
  }
  await audit.close();
} finally {
  await done();
}
