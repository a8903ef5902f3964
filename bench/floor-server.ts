/**
 * The floor: the least any FHIR server on this stack can do to answer a read. The same HTTP stack
 * as Concordia (`buildHttpServer`: Fastify, logger, request ids, metrics, health), the same database through the store's own adapters (same driver settings,
 * same pool size, same PGlite files), one primary-key SELECT, and the stored JSON sent as it is.
 * `read` is reported as a ratio to this, measured in the same run (DESIGN.md §5: read by id ≥ 80%
 * of the floor); the difference is what Concordia's FHIR door, core and store logic cost.
 *
 * Started by server-process.ts with the environment the real server gets; configuration goes
 * through the server's own loadConfig so both read it the same way.
 */
import { join } from 'node:path';
import { buildHttpServer } from '../packages/server/src/app.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { createLogger } from '../packages/server/src/ops/logger.ts';
import { createMetrics } from '../packages/server/src/ops/metrics.ts';
import type { Database } from '../packages/server/src/store/database.ts';
import { openPgliteDatabase } from '../packages/server/src/store/pglite.ts';
import { createPostgresDatabase } from '../packages/server/src/store/postgres.ts';
import { prepared, sql } from '../packages/server/src/store/sql.ts';

const notFoundOutcome = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'not-found', diagnostics: 'No such Patient' }],
});

const config = loadConfig();
const database = await openDatabase();
const app = await buildHttpServer({
  config,
  logger: createLogger(config),
  metrics: createMetrics(),
  store: { readiness: async () => ({ ready: true, detail: 'floor' }) },
});
app.get<{ Params: { id: string } }>('/fhir/Patient/:id', async (request, reply) => {
  // The current row of the store's `resource` table (store/migrations/0001_resources.sql).
  // Prepared like the store's own reads, so the floor is the best a bare lookup can do.
  const [row] = await database.query(
    prepared(
      sql`select content from resource where resource_type = ${'Patient'} and id = ${request.params.id}`,
    ),
  );
  const content = row?.content;
  if (typeof content !== 'string') return reply.code(404).type('application/fhir+json').send(notFoundOutcome);
  return reply.type('application/fhir+json').send(content);
});

await app.listen({ port: config.port, host: config.host });
process.once('SIGTERM', () => {
  app
    .close()
    .then(() => database.close())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
});

/** The database the real server opens for the same configuration (main.ts `openDatabase`). */
function openDatabase(): Promise<Database> {
  if (config.databaseUrl !== undefined) {
    return Promise.resolve(
      createPostgresDatabase({ connectionString: config.databaseUrl, poolSize: config.dbPoolSize }),
    );
  }
  return openPgliteDatabase({ dataDir: join(config.dataDir, 'pglite') });
}
