/** The PostgreSQL adapter (DESIGN.md D3): a `pg` pool; transactions hold one pooled connection. */
import { createHash } from 'node:crypto';
import { isRecord } from '@concordia/fhir';
import pg from 'pg';
import {
  type Database,
  type Row,
  type SqlExecutor,
  TRANSACTION_TIMESTAMP_QUERY,
  type TransactionExecutor,
} from './database.ts';
import { OID_INT8, OID_TIMESTAMPTZ, parseInt8, parseTimestamptz } from './parse-values.ts';
import { readString } from './rows.ts';
import { isPlainIdentifier, type Sql } from './sql.ts';

export interface PostgresOptions {
  connectionString: string;
  /** Connections in the pool (`CONCORDIA_DB_POOL_SIZE`). */
  poolSize: number;
  /** Schema to work in (first on `search_path`); tests use one per database. */
  schema?: string;
  /** An idle pooled connection failed (server restart, network); the pool drops it and reconnects. */
  onIdleClientError?: (error: Error) => void;
}

const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    if (oid === OID_INT8) return parseInt8;
    if (oid === OID_TIMESTAMPTZ) return parseTimestamptz;
    return pg.types.getTypeParser(oid, format);
  },
};

export function createPostgresDatabase(options: PostgresOptions): Database {
  if (options.schema !== undefined && !isPlainIdentifier(options.schema)) {
    throw new Error(`Invalid schema name: ${options.schema}`);
  }
  // UTC sessions so that timestamptz text always carries +00; search_path set at connect time
  // costs nothing per query.
  const settings = ['-c TimeZone=UTC'];
  if (options.schema !== undefined) settings.push(`-c search_path=${options.schema}`);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    options: settings.join(' '),
    types: typeParsers,
    allowExitOnIdle: true,
  });
  pool.on('error', options.onIdleClientError ?? ((error) => process.emitWarning(error)));

  const run = async (client: pg.Pool | pg.PoolClient, statement: Sql): Promise<Row[]> => {
    const { text, values } = statement.toQuery();
    const name = statement.reusable ? preparedName(text) : undefined;
    const result = await client.query<Row>(name === undefined ? { text, values } : { name, text, values });
    return result.rows;
  };

  const poolExecutor: SqlExecutor = {
    async query(statement: Sql): Promise<Row[]> {
      if (!statement.genericPlan) return run(pool, statement);
      // Outside a transaction the setting is the session's: set on one connection, then put back.
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query(GENERIC_PLANS);
        const rows = await run(client, statement);
        await client.query(DEFAULT_PLANS);
        return rows;
      } catch (error) {
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        // A connection whose setting may not have been put back must not serve other statements.
        client.release(broken);
      }
    },
    async executeScript(script: string): Promise<void> {
      await pool.query(script);
    },
  };

  /**
   * A transaction's statements on its connection. `planOnce` statements run under
   * `force_generic_plan`, set for the rest of the transaction (`SET LOCAL`) when the first one
   * comes and put back before any other statement, which keeps its custom plans: a search must
   * still be planned for the values it carries.
   */
  const transactionExecutor = (client: pg.PoolClient): SqlExecutor => {
    let generic = false;
    return {
      async query(statement: Sql): Promise<Row[]> {
        if (statement.genericPlan !== generic) {
          await client.query(statement.genericPlan ? GENERIC_PLANS_LOCAL : DEFAULT_PLANS_LOCAL);
          generic = statement.genericPlan;
        }
        return run(client, statement);
      },
      async executeScript(script: string): Promise<void> {
        if (generic) {
          await client.query(DEFAULT_PLANS_LOCAL);
          generic = false;
        }
        await client.query(script);
      },
    };
  };

  return {
    kind: 'postgres',
    ...poolExecutor,
    async transaction<T>(work: (tx: TransactionExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        // One round trip opens the transaction and reads its timestamp (simple protocol, no values).
        const begun: unknown = await client.query(`BEGIN; ${TRANSACTION_TIMESTAMP_QUERY}`);
        const notices: string[] = [];
        const result = await work({
          ...transactionExecutor(client),
          startedAt: startedAtOf(begun),
          notifyOnCommit: (channel, payload) => {
            notices.push(`select pg_notify(${literal(channel)}, ${literal(payload)});`);
          },
        });
        // One simple-protocol round trip: the notifications, then COMMIT (they are sent if it commits).
        await client.query(`${notices.join(' ')} COMMIT`);
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // A connection that cannot roll back must not go back to the pool.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async close(): Promise<void> {
      await pool.end();
    },
    poolStats() {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },
  };
}

/** A string literal for the simple protocol, whatever `standard_conforming_strings` says. */
function literal(text: string): string {
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

const GENERIC_PLANS = 'set plan_cache_mode = force_generic_plan';
const DEFAULT_PLANS = 'reset plan_cache_mode';
const GENERIC_PLANS_LOCAL = 'set local plan_cache_mode = force_generic_plan';
const DEFAULT_PLANS_LOCAL = 'set local plan_cache_mode to default';

/**
 * pg keeps prepared statements per connection by name; the name follows from the text. Statement
 * shapes are few and fixed, so the names are remembered rather than hashed on every query.
 */
const preparedNames = new Map<string, string>();
const MAX_REMEMBERED_NAMES = 10_000;

function preparedName(text: string): string {
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = `concordia_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (preparedNames.size >= MAX_REMEMBERED_NAMES) preparedNames.clear();
    preparedNames.set(text, name);
  }
  return name;
}

/** A multi-statement simple query answers one result per statement; the last is the SELECT. */
function startedAtOf(results: unknown): string {
  const last: unknown = Array.isArray(results) ? results.at(-1) : results;
  const rows: unknown = isRecord(last) ? last.rows : undefined;
  const row: unknown = Array.isArray(rows) ? rows[0] : undefined;
  if (!isRecord(row)) throw new Error('BEGIN did not return the transaction timestamp');
  return readString(row, 'started_at');
}
