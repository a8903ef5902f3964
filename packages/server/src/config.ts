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
   * Most `_include`/`_revinclude` resources in one search page (`CONCORDIA_MAX_INCLUDES`, default
   * 1000); a page that would include more says so in an OperationOutcome entry.
   */
  maxIncludes: number;
  /**
   * Most entries in one transaction or batch Bundle (`CONCORDIA_MAX_BUNDLE_ENTRIES`, default
   * 10,000: the largest Synthea patient Bundle in the shared data has 3,419); more is 413.
   */
  maxBundleEntries: number;
  /**
   * The only directory `$import` may read server-side files from (`CONCORDIA_IMPORT_DIR`); unset:
   * `$import` takes uploaded bodies only.
   */
  importDir?: string;
  /** Largest NDJSON body `$import` accepts (`CONCORDIA_IMPORT_MAX_UPLOAD_BYTES`, default 4 GiB). */
  importMaxUploadBytes: number;
  /**
   * `CONCORDIA_AUTH` (legacy name `CONCORDIA_AUTH_MODE`): `required` — every FHIR request needs a
   * bearer token except the CapabilityStatement; `open` (default for now) — a request without a
   * token is served as the open development principal and the server warns at start. A token that
   * is sent is verified and its scopes enforced in both modes.
   */
  authMode: 'open' | 'required';
  /**
   * Base64 of 32 bytes that seals signing keys and TOTP secrets at rest (`CONCORDIA_IDENTITY_KEY`);
   * unset: generated into `<dataDir>/identity.key` on first start.
   */
  identityKey?: string;
  /** Lifetime of access tokens in seconds (`CONCORDIA_ACCESS_TOKEN_SECONDS`, default 300). */
  accessTokenSeconds: number;
  /** Lifetime of refresh tokens in seconds (`CONCORDIA_REFRESH_TOKEN_SECONDS`, default 30 days). */
  refreshTokenSeconds: number;
  /** Failed sign-ins in a row that lock an account (`CONCORDIA_LOGIN_MAX_FAILURES`, default 5). */
  loginMaxFailures: number;
  /** How long a locked account stays locked (`CONCORDIA_LOGIN_LOCKOUT_SECONDS`, default 900). */
  loginLockoutSeconds: number;
  /** Seconds to let in-flight requests finish on SIGTERM before exiting (`CONCORDIA_SHUTDOWN_GRACE_SECONDS`, default 10). */
  shutdownGraceSeconds: number;
  /** How often an idle job worker looks for queued jobs (`CONCORDIA_JOB_POLL_INTERVAL_MS`, default 1000). */
  jobPollIntervalMs: number;
  /**
   * How long a worker holds a job without renewing its lease (`CONCORDIA_JOB_LEASE_SECONDS`, default
   * 60): after a crash, another node resumes the job once this has passed.
   */
  jobLeaseSeconds: number;
  /**
   * How often a node reloads the custom SearchParameters changed by other nodes
   * (`CONCORDIA_SEARCH_PARAMETER_REFRESH_MS`, default 5000).
   */
  searchParameterRefreshMs: number;
  /**
   * Where bulk `$export` writes its NDJSON files, one directory per job (`CONCORDIA_EXPORT_DIR`,
   * default `<dataDir>/exports`). Every node that serves downloads must see the same directory.
   */
  exportDir: string;
  /**
   * How long the files of a finished export stay downloadable (`CONCORDIA_EXPORT_RETENTION_HOURS`,
   * default 24); then they are deleted and the status URL answers 404.
   */
  exportRetentionHours: number;
  /** Resources read per database page by an export (`CONCORDIA_EXPORT_PAGE_SIZE`, default 1000). */
  exportPageSize: number;
  /** An export file is closed and the next one started after this many resources (`CONCORDIA_EXPORT_FILE_MAX_RESOURCES`, default 100000)… */
  exportFileMaxResources: number;
  /** …or before it would pass this many bytes (`CONCORDIA_EXPORT_FILE_MAX_BYTES`, default 512 MiB). */
  exportFileMaxBytes: number;
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
  const authVariable =
    read.optionalString('CONCORDIA_AUTH') === undefined ? 'CONCORDIA_AUTH_MODE' : 'CONCORDIA_AUTH';
  const authMode = read.oneOf(authVariable, ['open', 'required'], 'open');
  const identityKey = read.optionalString('CONCORDIA_IDENTITY_KEY');
  if (identityKey !== undefined && Buffer.from(identityKey, 'base64').length !== 32)
    problems.push('CONCORDIA_IDENTITY_KEY must be 32 bytes in base64 (openssl rand -base64 32)');
  const defaultPageSize = read.integer('CONCORDIA_DEFAULT_PAGE_SIZE', 20, 1, 10_000);
  const maxPageSize = read.integer('CONCORDIA_MAX_PAGE_SIZE', 1000, 1, 10_000);
  if (defaultPageSize > maxPageSize)
    problems.push('CONCORDIA_DEFAULT_PAGE_SIZE must not exceed CONCORDIA_MAX_PAGE_SIZE');

  const dataDir = resolve(read.string('CONCORDIA_DATA_DIR', './data'));
  const config: Config = {
    port,
    host,
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    dataDir,
    dbPoolSize: read.integer('CONCORDIA_DB_POOL_SIZE', 10, 1, 1000),
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    baseUrl: baseUrl.replace(/\/+$/, ''),
    maxBodyBytes: read.integer('CONCORDIA_MAX_BODY_BYTES', 64 * 1024 * 1024, 1024, 2 ** 31 - 1),
    updateCreate: read.boolean('CONCORDIA_UPDATE_CREATE', true),
    defaultPageSize,
    maxPageSize,
    maxIncludes: read.integer('CONCORDIA_MAX_INCLUDES', 1000, 0, 100_000),
    maxBundleEntries: read.integer('CONCORDIA_MAX_BUNDLE_ENTRIES', 10_000, 1, 1_000_000),
    ...importDirOf(read.optionalString('CONCORDIA_IMPORT_DIR')),
    importMaxUploadBytes: read.integer('CONCORDIA_IMPORT_MAX_UPLOAD_BYTES', 4 * 1024 ** 3, 1024, 2 ** 50),
    authMode,
    ...(identityKey !== undefined ? { identityKey } : {}),
    accessTokenSeconds: read.integer('CONCORDIA_ACCESS_TOKEN_SECONDS', 300, 30, 86_400),
    refreshTokenSeconds: read.integer('CONCORDIA_REFRESH_TOKEN_SECONDS', 30 * 86_400, 300, 365 * 86_400),
    loginMaxFailures: read.integer('CONCORDIA_LOGIN_MAX_FAILURES', 5, 1, 100),
    loginLockoutSeconds: read.integer('CONCORDIA_LOGIN_LOCKOUT_SECONDS', 900, 1, 86_400),
    shutdownGraceSeconds: read.integer('CONCORDIA_SHUTDOWN_GRACE_SECONDS', 10, 0, 3600),
    jobPollIntervalMs: read.integer('CONCORDIA_JOB_POLL_INTERVAL_MS', 1000, 10, 600_000),
    jobLeaseSeconds: read.integer('CONCORDIA_JOB_LEASE_SECONDS', 60, 1, 3600),
    searchParameterRefreshMs: read.integer('CONCORDIA_SEARCH_PARAMETER_REFRESH_MS', 5000, 10, 600_000),
    exportDir: resolve(read.string('CONCORDIA_EXPORT_DIR', `${dataDir}/exports`)),
    exportRetentionHours: read.integer('CONCORDIA_EXPORT_RETENTION_HOURS', 24, 1, 24 * 365),
    exportPageSize: read.integer('CONCORDIA_EXPORT_PAGE_SIZE', 1000, 1, 10_000),
    exportFileMaxResources: read.integer('CONCORDIA_EXPORT_FILE_MAX_RESOURCES', 100_000, 1, 100_000_000),
    exportFileMaxBytes: read.integer('CONCORDIA_EXPORT_FILE_MAX_BYTES', 512 * 1024 * 1024, 1024, 2 ** 40),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function importDirOf(value: string | undefined): { importDir?: string } {
  return value === undefined ? {} : { importDir: resolve(value) };
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
