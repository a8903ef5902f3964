/**
 * The only module that reads the environment (DESIGN.md rule 4). Everything else receives a
 * `Config`. Each setting is documented here and in docs/configuration.md; a bad value fails fast.
 */
import { resolve } from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** TCP port of the HTTP server (`PORT`, default 8080). */
  port: number;
  /** Interface to bind (`HOST`, default 127.0.0.1). */
  host: string;
  /** PostgreSQL connection string (`DATABASE_URL`); unset → embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** Where PGlite and other local state live (`CONCORDIA_DATA_DIR`, default ./data). */
  dataDir: string;
  /** Connections in the PostgreSQL pool (`CONCORDIA_DB_POOL_SIZE`, default 10). */
  dbPoolSize: number;
  /** pino level (`LOG_LEVEL`, default info). */
  logLevel: LogLevel;
  /** Public base URL of the server, used in absolute links (`CONCORDIA_BASE_URL`, default http://HOST:PORT). */
  baseUrl: string;
  /** Largest accepted request body in bytes (`CONCORDIA_MAX_BODY_BYTES`, default 64 MiB). */
  maxBodyBytes: number;
  /** Allow update (PUT) to create a resource with a client-chosen id (`CONCORDIA_UPDATE_CREATE`, default true). */
  updateCreate: boolean;
  /** Default and maximum page size of history and search (`CONCORDIA_DEFAULT_PAGE_SIZE` 20, `CONCORDIA_MAX_PAGE_SIZE` 1000). */
  defaultPageSize: number;
  maxPageSize: number;
  /**
   * Serve without authentication (`CONCORDIA_AUTH_MODE=open`). Until the identity issue lands this is
   * the only mode, and the server logs a warning at start; nothing below the door may assume it.
   */
  authMode: 'open';
  /** Seconds to let in-flight requests finish on SIGTERM before exiting (`CONCORDIA_SHUTDOWN_GRACE_SECONDS`, default 10). */
  shutdownGraceSeconds: number;
}

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Parses and validates the environment; throws `ConfigError` listing every problem at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);

  const port = read.integer('PORT', 8080, 0, 65535);
  const host = read.string('HOST', '127.0.0.1');
  const databaseUrl = read.optionalString('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// or postgresql://');
  }
  const baseUrl = read.string(
    'CONCORDIA_BASE_URL',
    `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
  );
  if (!/^https?:\/\/[^/]+(\/.*)?$/.test(baseUrl))
    problems.push(`CONCORDIA_BASE_URL is not an http(s) URL: ${baseUrl}`);
  const authMode = read.string('CONCORDIA_AUTH_MODE', 'open');
  if (authMode !== 'open')
    problems.push(`CONCORDIA_AUTH_MODE must be "open" (identity is not available yet), got "${authMode}"`);
  const defaultPageSize = read.integer('CONCORDIA_DEFAULT_PAGE_SIZE', 20, 1, 10_000);
  const maxPageSize = read.integer('CONCORDIA_MAX_PAGE_SIZE', 1000, 1, 10_000);
  if (defaultPageSize > maxPageSize)
    problems.push('CONCORDIA_DEFAULT_PAGE_SIZE must not exceed CONCORDIA_MAX_PAGE_SIZE');

  const config: Config = {
    port,
    host,
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    dataDir: resolve(read.string('CONCORDIA_DATA_DIR', './data')),
    dbPoolSize: read.integer('CONCORDIA_DB_POOL_SIZE', 10, 1, 1000),
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    baseUrl: baseUrl.replace(/\/+$/, ''),
    maxBodyBytes: read.integer('CONCORDIA_MAX_BODY_BYTES', 64 * 1024 * 1024, 1024, 2 ** 31 - 1),
    updateCreate: read.boolean('CONCORDIA_UPDATE_CREATE', true),
    defaultPageSize,
    maxPageSize,
    authMode: 'open',
    shutdownGraceSeconds: read.integer('CONCORDIA_SHUTDOWN_GRACE_SECONDS', 10, 0, 3600),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  optionalString(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.optionalString(name) ?? fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optionalString(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.optionalString(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.optionalString(name);
    if (raw === undefined) return fallback;
    const match = allowed.find((candidate) => candidate === raw);
    if (match === undefined) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return match;
  }
}
