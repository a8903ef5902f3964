/**
 * The floor: the least any FHIR server on this stack can do to answer a read. The same Fastify and
 * logger as Concordia, the same database and pool size, one primary-key SELECT, and the stored
 * JSON sent as it is. `read` is reported as a ratio to this, measured in the same run
 * (DESIGN.md §5: read by id ≥ 80% of the floor).
 *
 * Started by server-process.ts with the environment the real server gets; configuration goes
 * through the server's own loadConfig so both read it the same way.
 */
import { PGlite } from '@electric-sql/pglite';
import Fastify from 'fastify';
import pg from 'pg';
import { loadConfig } from '../packages/server/src/config.ts';
import { createLogger } from '../packages/server/src/ops/logger.ts';

/** Reads the current row of the store's `resource` table (packages/server/src/store/migrations). */
const currentContentSql = 'select content from resource where resource_type = $1 and id = $2';

type ContentLookup = (id: string) => Promise<string | undefined>;

interface FloorDatabase {
  lookup: ContentLookup;
  close(): Promise<void>;
}

const config = loadConfig();
const database = await openDatabase();
const app = Fastify({ loggerInstance: createLogger(config) });

app.get('/readyz', async () => ({ status: 'ready' }));
app.get<{ Params: { id: string } }>('/fhir/Patient/:id', async (request, reply) => {
  const content = await database.lookup(request.params.id);
  if (content === undefined) return reply.code(404).type('application/fhir+json').send('{}');
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

async function openDatabase(): Promise<FloorDatabase> {
  if (config.databaseUrl !== undefined) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolSize });
    return {
      lookup: async (id) => {
        const result = await pool.query<{ content: string | null }>(currentContentSql, ['Patient', id]);
        return result.rows[0]?.content ?? undefined;
      },
      close: () => pool.end(),
    };
  }
  const db = await PGlite.create(config.dataDir);
  return {
    lookup: async (id) => {
      const result = await db.query<{ content: string | null }>(currentContentSql, ['Patient', id]);
      return result.rows[0]?.content ?? undefined;
    },
    close: () => db.close(),
  };
}
