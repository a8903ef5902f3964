/**
 * The only module that reads the environment (DESIGN.md rule 4). Everything else receives a
 * `Config`. Each setting is documented here and in docs/configuration.md; a bad value fails fast.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseValidationSettings, type ValidationConfig } from './fhir/validation/validation-policy.ts';
import { DEFAULT_MASTER_DATA, type MasterDataConfig } from './terminology/master-data-policy.ts';

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
   * bearer token except the CapabilityStatement (the default: secure by default); `insecure-demo`
   * (here `open`; `concordia serve --insecure-demo`, loopback addresses only) — a request without a
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
  /**
   * `CONCORDIA_ACCESS_HIDDEN`: how a request by id for a record the access decision hides is
   * answered — `not-found` (the default: 404, as if it did not exist, so existence does not leak)
   * or `forbidden` (403 OperationOutcome). Searches leave hidden records out either way.
   */
  accessHidden: 'not-found' | 'forbidden';
  /** Lifetime of refresh tokens in seconds (`CONCORDIA_REFRESH_TOKEN_SECONDS`, default 30 days). */
  refreshTokenSeconds: number;
  /** Failed sign-ins in a row that lock an account (`CONCORDIA_LOGIN_MAX_FAILURES`, default 5). */
  loginMaxFailures: number;
  /** How long a locked account stays locked (`CONCORDIA_LOGIN_LOCKOUT_SECONDS`, default 900). */
  loginLockoutSeconds: number;
  /**
   * Browser origins allowed to call the FHIR API, SMART discovery and the token endpoint across
   * origins (`CONCORDIA_CORS_ORIGINS`): `*` (the default) for any, a comma-separated list of
   * origins (`https://app.example.org`), or `none`. Never with credentials (cookies): tokens are
   * sent as bearer headers. `[]` means none, `['*']` any.
   */
  corsOrigins: readonly string[];
  /** HTTPS (`CONCORDIA_TLS_CERT`, `CONCORDIA_TLS_KEY`, optional `CONCORDIA_TLS_CA`); absent: plain HTTP. */
  tls?: TlsConfig;
  /** `Strict-Transport-Security` (`CONCORDIA_HSTS`, `CONCORDIA_HSTS_MAX_AGE`, `CONCORDIA_HSTS_INCLUDE_SUBDOMAINS`). */
  hsts: HstsConfig;
  /**
   * Proxies whose `X-Forwarded-For` is believed (`CONCORDIA_TRUST_PROXY`: addresses, CIDR ranges or
   * `loopback`, `linklocal`, `uniquelocal`); empty: none, the peer address is the client's.
   */
  trustProxy: readonly string[];
  /** Requests per client and per address (`CONCORDIA_RATE_LIMIT*`, http/rate-limit.ts). */
  rateLimit: RateLimitConfig;
  /**
   * How long a node keeps a principal's resolved relationships at most
   * (`CONCORDIA_RELATIONSHIP_CACHE_SECONDS`, default 5). On PostgreSQL other nodes' writes drop
   * them at once (change notifications); this bounds what a missed notification can leave stale.
   */
  relationshipCacheSeconds: number;
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
  /**
   * Clinicians' signatures (signatures/, docs/security.md). Each is absent when unset.
   * `CONCORDIA_SIGNATURE_REQUIRED_TYPES`: resource types whose every write must carry a valid
   * signature (comma-separated; unset: none). `CONCORDIA_SIGNATURE_TRUST_ANCHORS`: PEM files of the
   * CA certificates signing certificates must chain to. `CONCORDIA_SIGNATURE_CRLS`: CRL files (PEM
   * or DER) of those CAs. `CONCORDIA_SIGNATURE_MAX_AGE_SECONDS`: how old `signature.when` may be
   * when the write arrives (default 86,400).
   */
  signatureRequiredTypes?: string[];
  signatureTrustAnchorFiles?: string[];
  signatureCrlFiles?: string[];
  signatureMaxAgeSeconds?: number;
  /**
   * Encrypted blob store (blobs/, docs/security.md). `CONCORDIA_BLOB_DIR`: where blob files live
   * (default `<dataDir>/blobs`). `CONCORDIA_MASTER_KEY`: base64 of the 32-byte master key that wraps
   * data keys, with `CONCORDIA_MASTER_KEY_PREVIOUS` (comma-separated) during a rotation; unset: a
   * key ring of files in `CONCORDIA_MASTER_KEY_DIR` (default `<dataDir>/master-keys`).
   */
  blobDir?: string;
  /**
   * `CONCORDIA_ATTACHMENT_OBJECT_MIN_BYTES` (default 65,536): a blob (an Attachment's data, a
   * Binary's) smaller than this keeps its ciphertext in its database row, written in the same
   * statement as the version; a larger one in a blob file (docs/signatures-and-encryption.md).
   */
  attachmentObjectMinBytes?: number;
  masterKey?: string;
  previousMasterKeys?: string[];
  masterKeyDir?: string;
  /** The audit (audit/, docs/audit-and-ledger.md); see `AuditConfig`. */
  audit: AuditConfig;
  /**
   * The most codes a token search with `:in`, `:not-in`, `:above` or `:below` may stand for
   * (`CONCORDIA_TERMINOLOGY_SEARCH_MAX_CODES`, default 10,000); more is 400 too-costly.
   */
  terminologySearchMaxCodes: number;
  /** Master-data rules on write (docs/terminology.md); see `MasterDataConfig` and `masterDataSettings`. */
  masterData: MasterDataConfig;
  /**
   * Validation on write and `$validate` (docs/validation.md): `CONCORDIA_VALIDATION` (reject | warn
   * | off, default reject), `CONCORDIA_VALIDATION_TYPES` (per type, `Observation:warn,Binary:off`),
   * `CONCORDIA_VALIDATION_PROFILES` (`Patient=url|url;Condition=url`), `CONCORDIA_CONFORMANCE_DIR`
   * (FHIR NPM packages loaded at start), `CONCORDIA_VALIDATION_EXTENSION_DOMAINS`.
   */
  validation: ValidationConfig;
  /** The ledger (ledger/, docs/audit-and-ledger.md); see `LedgerConfig`. */
  ledger: LedgerConfig;
}

export interface LedgerConfig {
  /** `CONCORDIA_LEDGER`: `on` (default) or `off` (benchmarks measure its cost; never in production). */
  enabled: boolean;
  /**
   * The checkpoint origin line and the node key's name (`CONCORDIA_LEDGER_ORIGIN`, default the
   * base URL without its scheme, plus `/ledger`): a schema-less URL naming this log.
   */
  origin: string;
  /** How often the sequencer integrates committed entries (`CONCORDIA_LEDGER_SEQUENCE_INTERVAL_MS`, default 1000). */
  sequenceIntervalMs: number;
  /** Most entries the sequencer places in one transaction (`CONCORDIA_LEDGER_BATCH_SIZE`, default 5000). */
  batchSize: number;
  /**
   * Witnesses whose cosignatures count (`CONCORDIA_LEDGER_WITNESSES`): comma-separated verifier keys
   * `<name>+<key id>+<base64(0x04 ‖ Ed25519 public key)>`, as `concordia witness keygen` prints them.
   */
  witnessKeys: string[];
  /** Distinct witnesses that make a checkpoint confirmed (`CONCORDIA_LEDGER_QUORUM`, default: all of them). */
  quorum: number;
}

export interface AuditConfig {
  /** `CONCORDIA_AUDIT`: `on` (default) or `off` (benchmarks measure its cost; never in production). */
  enabled: boolean;
  /**
   * `CONCORDIA_AUDIT_FAILURE_MODE`: `fail-closed` (default) — a request whose AuditEvent cannot be
   * stored fails with 503; `fail-open` — it is served, the event kept for retry and an error logged.
   */
  failureMode: 'fail-closed' | 'fail-open';
  /**
   * `CONCORDIA_AUDIT_COMMIT`: `durable` (default) — a request is answered once its event's batch
   * is flushed to disk (fsync); `async` — once it is in PostgreSQL's WAL, not yet flushed
   * (`synchronous_commit = off` for audit batches only): the events survive a crash of PostgreSQL
   * but the last ~0.6 s may be lost to a crash of the machine. Reads stop waiting for the disk.
   */
  commit: 'durable' | 'async';
  /**
   * `CONCORDIA_AUDIT_READS`: when a request that writes nothing (read, search, operation) is
   * answered. `spooled` (default) — once its access-log row is appended to the node's spool file
   * (`spoolDir`); rows commit in batches within ~20 ms and a crash leaves them in the spool for the
   * next start. `committed` — once its row's batch is committed in the database.
   */
  reads: 'spooled' | 'committed';
  /** `CONCORDIA_AUDIT_SPOOL_DIR`, default `<data dir>/audit-spool`. */
  spoolDir: string;
  /**
   * `CONCORDIA_AUDIT_SPOOLED_FLUSH_MS` (default 20): how long a spooled row waits for others before
   * its batch is written. Longer: fewer, larger batches (less CPU a read); shorter: rows reach the
   * database sooner.
   */
  spooledFlushMs: number;
  /**
   * `CONCORDIA_AUDIT_MAX_PENDING_MS` (default 2000): fail-closed — once answered rows have waited
   * this long for their batch, requests wait for their own row's commit until batches commit again.
   */
  maxPendingMs: number;
  /** Most AuditEvents in one batched insert (`CONCORDIA_AUDIT_BATCH_MAX_EVENTS`, default 500). */
  batchMaxEvents: number;
  /**
   * How long the first event of a batch waits for more (`CONCORDIA_AUDIT_FLUSH_MS`, default 0: a
   * batch leaves at the end of the event loop turn, and fills while the previous one is written).
   */
  flushDelayMs: number;
  /** `AuditEvent.source.site`: the installation this node belongs to (`CONCORDIA_AUDIT_SITE`). */
  site?: string;
  /** Also send every AuditEvent to this syslog collector over TLS, RFC 5425 (`CONCORDIA_AUDIT_SYSLOG_URL`, `tls://host:6514`). */
  syslogUrl?: string;
  /** PEM file of the CA that signed the collector's certificate (`CONCORDIA_AUDIT_SYSLOG_CA`); default: the system's. */
  syslogCaFile?: string;
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

export interface HstsConfig {
  /** `auto` (default): sent when this server serves HTTPS; `on`: also behind a TLS-terminating proxy. */
  mode: 'auto' | 'on' | 'off';
  maxAgeSeconds: number;
  includeSubDomains: boolean;
}

export interface RateLimitConfig {
  /** `CONCORDIA_RATE_LIMIT`: `on` (default) or `off`. */
  enabled: boolean;
  /** `CONCORDIA_RATE_LIMIT_WINDOW_SECONDS` (default 60). */
  windowSeconds: number;
  /** Requests per window per client or address (`CONCORDIA_RATE_LIMIT_MAX`, default 30,000). */
  max: number;
  /** Sign-in, token and MFA requests per window per address (`CONCORDIA_RATE_LIMIT_SIGN_IN_MAX`, default 120). */
  signInMax: number;
  /**
   * `CONCORDIA_RATE_LIMIT_REDIS_URL` (`redis://host:6379/0`): count in this Redis, shared by every
   * node; absent (default): each node counts in its own memory.
   */
  redisUrl?: string;
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
  const tls = tlsSettings(read, problems);
  const baseUrl = read.string(
    'CONCORDIA_BASE_URL',
    `${tls !== undefined ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
  );
  if (!/^https?:\/\/[^/]+(\/.*)?$/.test(baseUrl))
    problems.push(`CONCORDIA_BASE_URL is not an http(s) URL: ${baseUrl}`);
  if (tls !== undefined && baseUrl.startsWith('http://'))
    problems.push('CONCORDIA_BASE_URL must be an https:// URL when CONCORDIA_TLS_CERT is set');
  const authVariable =
    read.optionalString('CONCORDIA_AUTH') === undefined ? 'CONCORDIA_AUTH_MODE' : 'CONCORDIA_AUTH';
  // Secure by default (issue 6): no authentication only as an explicit, loopback-only local demo.
  const authMode = authModeOf(read, authVariable, host, problems);
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
    accessHidden: read.oneOf('CONCORDIA_ACCESS_HIDDEN', ['not-found', 'forbidden'], 'not-found'),
    refreshTokenSeconds: read.integer('CONCORDIA_REFRESH_TOKEN_SECONDS', 30 * 86_400, 300, 365 * 86_400),
    loginMaxFailures: read.integer('CONCORDIA_LOGIN_MAX_FAILURES', 5, 1, 100),
    loginLockoutSeconds: read.integer('CONCORDIA_LOGIN_LOCKOUT_SECONDS', 900, 1, 86_400),
    corsOrigins: corsOriginsOf(read.optionalString('CONCORDIA_CORS_ORIGINS'), problems),
    ...(tls !== undefined ? { tls } : {}),
    hsts: hstsSettings(read, problems, baseUrl),
    trustProxy: trustProxyOf(read.optionalString('CONCORDIA_TRUST_PROXY'), problems),
    rateLimit: rateLimitSettings(read, problems),
    relationshipCacheSeconds: read.integer('CONCORDIA_RELATIONSHIP_CACHE_SECONDS', 5, 1, 3600),
    shutdownGraceSeconds: read.integer('CONCORDIA_SHUTDOWN_GRACE_SECONDS', 10, 0, 3600),
    jobPollIntervalMs: read.integer('CONCORDIA_JOB_POLL_INTERVAL_MS', 1000, 10, 600_000),
    jobLeaseSeconds: read.integer('CONCORDIA_JOB_LEASE_SECONDS', 60, 1, 3600),
    searchParameterRefreshMs: read.integer('CONCORDIA_SEARCH_PARAMETER_REFRESH_MS', 5000, 10, 600_000),
    exportDir: resolve(read.string('CONCORDIA_EXPORT_DIR', `${dataDir}/exports`)),
    exportRetentionHours: read.integer('CONCORDIA_EXPORT_RETENTION_HOURS', 24, 1, 24 * 365),
    exportPageSize: read.integer('CONCORDIA_EXPORT_PAGE_SIZE', 1000, 1, 10_000),
    exportFileMaxResources: read.integer('CONCORDIA_EXPORT_FILE_MAX_RESOURCES', 100_000, 1, 100_000_000),
    exportFileMaxBytes: read.integer('CONCORDIA_EXPORT_FILE_MAX_BYTES', 512 * 1024 * 1024, 1024, 2 ** 40),
    ...signatureAndBlobSettings(read, problems),
    audit: auditSettings(read, problems, dataDir),
    terminologySearchMaxCodes: read.integer('CONCORDIA_TERMINOLOGY_SEARCH_MAX_CODES', 10_000, 1, 1_000_000),
    masterData: masterDataSettings(read, problems),
    validation: parseValidationSettings(
      {
        policy: read.optionalString('CONCORDIA_VALIDATION'),
        types: read.optionalString('CONCORDIA_VALIDATION_TYPES'),
        profiles: read.optionalString('CONCORDIA_VALIDATION_PROFILES'),
        conformanceDir: read.optionalString('CONCORDIA_CONFORMANCE_DIR'),
        extensionDomains: read.optionalString('CONCORDIA_VALIDATION_EXTENSION_DOMAINS'),
      },
      problems,
    ),
    ledger: ledgerSettings(read, problems, baseUrl),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** `CONCORDIA_CORS_ORIGINS`: `*` (default), `none`, or origins such as `https://app.example.org:8443`. */
function tlsSettings(read: EnvReader, problems: string[]): TlsConfig | undefined {
  const certFile = read.optionalString('CONCORDIA_TLS_CERT');
  const keyFile = read.optionalString('CONCORDIA_TLS_KEY');
  const caFile = read.optionalString('CONCORDIA_TLS_CA');
  if (certFile === undefined || keyFile === undefined) {
    if (certFile !== undefined || keyFile !== undefined)
      problems.push('CONCORDIA_TLS_CERT and CONCORDIA_TLS_KEY must be set together');
    if (caFile !== undefined)
      problems.push('CONCORDIA_TLS_CA needs CONCORDIA_TLS_CERT and CONCORDIA_TLS_KEY');
    return undefined;
  }
  return {
    certFile: resolve(certFile),
    keyFile: resolve(keyFile),
    ...(caFile !== undefined ? { caFile: resolve(caFile) } : {}),
  };
}

function hstsSettings(read: EnvReader, problems: string[], baseUrl: string): HstsConfig {
  const mode = read.oneOf('CONCORDIA_HSTS', ['auto', 'on', 'off'], 'auto');
  if (mode === 'on' && !baseUrl.startsWith('https://'))
    problems.push('CONCORDIA_HSTS=on needs an https:// CONCORDIA_BASE_URL (the URL clients use)');
  return {
    mode,
    maxAgeSeconds: read.integer('CONCORDIA_HSTS_MAX_AGE', 31_536_000, 0, 2 * 31_536_000),
    includeSubDomains: read.boolean('CONCORDIA_HSTS_INCLUDE_SUBDOMAINS', false),
  };
}

/** Range names `proxy-addr` (Fastify's `trustProxy`) knows besides addresses and CIDR ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function trustProxyOf(value: string | undefined, problems: string[]): readonly string[] {
  const items = (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of items) {
    const [address = '', prefix, ...rest] = item.split('/');
    const family = isIP(address);
    const prefixOk =
      prefix === undefined ||
      (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32) && rest.length === 0);
    if (!PROXY_RANGE_NAMES.includes(item) && (family === 0 || !prefixOk))
      problems.push(`CONCORDIA_TRUST_PROXY: not an address, CIDR range or range name: "${item}"`);
  }
  return items;
}

function rateLimitSettings(read: EnvReader, problems: string[]): RateLimitConfig {
  const redisUrl = read.optionalString('CONCORDIA_RATE_LIMIT_REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    problems.push('CONCORDIA_RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL');
  return {
    enabled: read.oneOf('CONCORDIA_RATE_LIMIT', ['on', 'off'], 'on') === 'on',
    windowSeconds: read.integer('CONCORDIA_RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
    max: read.integer('CONCORDIA_RATE_LIMIT_MAX', 30_000, 1, 1_000_000_000),
    signInMax: read.integer('CONCORDIA_RATE_LIMIT_SIGN_IN_MAX', 120, 1, 1_000_000_000),
    ...(redisUrl !== undefined ? { redisUrl } : {}),
  };
}

/**
 * `required` (the default) or `insecure-demo`, which serves every request as the open development
 * principal (ADR 0004) — for a demo on one's own machine, so only on a loopback address. The
 * foundation's `open` was removed by issue 6: it is refused with the way to ask for a demo.
 */
function authModeOf(
  read: EnvReader,
  variable: string,
  host: string,
  problems: string[],
): 'open' | 'required' {
  if (read.optionalString(variable) === 'open') {
    problems.push(
      `${variable}=open was removed: for a local demo without authentication set ${variable}=insecure-demo or run \`concordia serve --insecure-demo\``,
    );
    return 'required';
  }
  if (read.oneOf(variable, ['insecure-demo', 'required'], 'required') === 'required') return 'required';
  if (!isLoopback(host))
    problems.push(
      `${variable}=insecure-demo answers without authentication and listens only on a loopback address; HOST is ${host}`,
    );
  return 'open';
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function corsOriginsOf(value: string | undefined, problems: string[]): readonly string[] {
  if (value === undefined || value === '*') return ['*'];
  if (value === 'none') return [];
  const origins = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const origin of origins) {
    // An origin is scheme://host[:port] exactly, as a browser sends it in the Origin header.
    if (!URL.canParse(origin) || new URL(origin).origin !== origin)
      problems.push(`CONCORDIA_CORS_ORIGINS: not an origin (scheme://host[:port]): "${origin}"`);
  }
  return origins;
}

/** The settings of signatures and the blob store: each present only when its variable is set. */
function signatureAndBlobSettings(read: EnvReader, problems: string[]): Partial<Config> {
  const list = (name: string): string[] | undefined =>
    read
      .optionalString(name)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const settings: Partial<Config> = {};
  const requiredTypes = list('CONCORDIA_SIGNATURE_REQUIRED_TYPES');
  if (requiredTypes !== undefined) {
    const bad = requiredTypes.filter((type) => !/^[A-Z][A-Za-z]+$/.test(type));
    if (bad.length > 0)
      problems.push(`CONCORDIA_SIGNATURE_REQUIRED_TYPES has invalid types: ${bad.join(', ')}`);
    settings.signatureRequiredTypes = requiredTypes;
  }
  const anchors = list('CONCORDIA_SIGNATURE_TRUST_ANCHORS');
  if (anchors !== undefined) settings.signatureTrustAnchorFiles = anchors.map((file) => resolve(file));
  const crls = list('CONCORDIA_SIGNATURE_CRLS');
  if (crls !== undefined) settings.signatureCrlFiles = crls.map((file) => resolve(file));
  if (read.optionalString('CONCORDIA_SIGNATURE_MAX_AGE_SECONDS') !== undefined) {
    settings.signatureMaxAgeSeconds = read.integer(
      'CONCORDIA_SIGNATURE_MAX_AGE_SECONDS',
      86_400,
      1,
      366 * 86_400,
    );
  }
  const blobDir = read.optionalString('CONCORDIA_BLOB_DIR');
  if (blobDir !== undefined) settings.blobDir = resolve(blobDir);
  if (read.optionalString('CONCORDIA_ATTACHMENT_OBJECT_MIN_BYTES') !== undefined) {
    settings.attachmentObjectMinBytes = read.integer(
      'CONCORDIA_ATTACHMENT_OBJECT_MIN_BYTES',
      65_536,
      0,
      1 << 30,
    );
  }
  const masterKeys = [
    read.optionalString('CONCORDIA_MASTER_KEY'),
    ...(list('CONCORDIA_MASTER_KEY_PREVIOUS') ?? []),
  ];
  for (const key of masterKeys) {
    if (key !== undefined && Buffer.from(key, 'base64').length !== 32)
      problems.push('CONCORDIA_MASTER_KEY and CONCORDIA_MASTER_KEY_PREVIOUS must be 32 bytes in base64');
  }
  const [masterKey, ...previous] = masterKeys;
  if (masterKey !== undefined) settings.masterKey = masterKey;
  else if (previous.length > 0) problems.push('CONCORDIA_MASTER_KEY_PREVIOUS needs CONCORDIA_MASTER_KEY');
  if (previous.length > 0) settings.previousMasterKeys = previous.filter((key) => key !== undefined);
  const masterKeyDir = read.optionalString('CONCORDIA_MASTER_KEY_DIR');
  if (masterKeyDir !== undefined) settings.masterKeyDir = resolve(masterKeyDir);
  return settings;
}

function ledgerSettings(read: EnvReader, problems: string[], baseUrl: string): LedgerConfig {
  const origin = read.string(
    'CONCORDIA_LEDGER_ORIGIN',
    `${baseUrl.replace(/^https?:\/\//, '').replace(/\/+$/, '')}/ledger`,
  );
  // A note key name: no whitespace and no `+` (C2SP signed-note).
  if (!/^[^\s+]+$/u.test(origin))
    problems.push(`CONCORDIA_LEDGER_ORIGIN must have no spaces or "+": "${origin}"`);
  const witnessKeys = (read.optionalString('CONCORDIA_LEDGER_WITNESSES') ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  for (const key of witnessKeys) {
    if (!/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/.test(key))
      problems.push(`CONCORDIA_LEDGER_WITNESSES: not a verifier key <name>+<key id>+<base64>: "${key}"`);
  }
  const quorum = read.integer('CONCORDIA_LEDGER_QUORUM', witnessKeys.length, 0, 1000);
  if (quorum > witnessKeys.length)
    problems.push(
      `CONCORDIA_LEDGER_QUORUM (${quorum}) exceeds the ${witnessKeys.length} configured witnesses`,
    );
  return {
    enabled: read.oneOf('CONCORDIA_LEDGER', ['on', 'off'], 'on') === 'on',
    origin,
    sequenceIntervalMs: read.integer('CONCORDIA_LEDGER_SEQUENCE_INTERVAL_MS', 1000, 10, 600_000),
    batchSize: read.integer('CONCORDIA_LEDGER_BATCH_SIZE', 5000, 1, 100_000),
    witnessKeys,
    quorum,
  };
}

/**
 * `CONCORDIA_MASTER_DATA` (off | reject, default off), `CONCORDIA_UCUM_UNITS` (off | reject,
 * default off), and comma-separated lists that override the defaults of master-data-policy.ts:
 * `CONCORDIA_MASTER_DATA_HOSPITAL_SYSTEMS`, `CONCORDIA_MASTER_DATA_PRIMARY_CARE_SYSTEMS` (code
 * system URLs), `CONCORDIA_MASTER_DATA_HOSPITAL_CLASSES`, `CONCORDIA_MASTER_DATA_PRIMARY_CARE_CLASSES`
 * (Encounter.class codes).
 */
function masterDataSettings(read: EnvReader, problems: string[]): MasterDataConfig {
  const list = (name: string, fallback: readonly string[]): readonly string[] => {
    const items = read
      .optionalString(name)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items !== undefined && items.length === 0) problems.push(`${name} must list at least one value`);
    return items !== undefined && items.length > 0 ? items : fallback;
  };
  const systems = {
    hospital: list('CONCORDIA_MASTER_DATA_HOSPITAL_SYSTEMS', DEFAULT_MASTER_DATA.systems.hospital),
    'primary-care': list(
      'CONCORDIA_MASTER_DATA_PRIMARY_CARE_SYSTEMS',
      DEFAULT_MASTER_DATA.systems['primary-care'],
    ),
  };
  for (const system of [...systems.hospital, ...systems['primary-care']]) {
    if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(system))
      problems.push(`master-data code system is not a URI: "${system}"`);
  }
  const encounterClasses = {
    hospital: list('CONCORDIA_MASTER_DATA_HOSPITAL_CLASSES', DEFAULT_MASTER_DATA.encounterClasses.hospital),
    'primary-care': list(
      'CONCORDIA_MASTER_DATA_PRIMARY_CARE_CLASSES',
      DEFAULT_MASTER_DATA.encounterClasses['primary-care'],
    ),
  };
  const both = encounterClasses.hospital.filter((code) => encounterClasses['primary-care'].includes(code));
  if (both.length > 0) problems.push(`Encounter classes in both care settings: ${both.join(', ')}`);
  return {
    codes: read.oneOf('CONCORDIA_MASTER_DATA', ['off', 'reject'], DEFAULT_MASTER_DATA.codes),
    systems,
    encounterClasses,
    ucumUnits: read.oneOf('CONCORDIA_UCUM_UNITS', ['off', 'reject'], DEFAULT_MASTER_DATA.ucumUnits),
  };
}

function auditSettings(read: EnvReader, problems: string[], dataDir: string): AuditConfig {
  const syslogUrl = read.optionalString('CONCORDIA_AUDIT_SYSLOG_URL');
  if (syslogUrl !== undefined && !/^tls:\/\/[^:/]+:\d{1,5}$/.test(syslogUrl))
    problems.push(`CONCORDIA_AUDIT_SYSLOG_URL must be tls://host:port, got "${syslogUrl}"`);
  const site = read.optionalString('CONCORDIA_AUDIT_SITE');
  const syslogCaFile = read.optionalString('CONCORDIA_AUDIT_SYSLOG_CA');
  return {
    enabled: read.oneOf('CONCORDIA_AUDIT', ['on', 'off'], 'on') === 'on',
    failureMode: read.oneOf('CONCORDIA_AUDIT_FAILURE_MODE', ['fail-closed', 'fail-open'], 'fail-closed'),
    commit: read.oneOf('CONCORDIA_AUDIT_COMMIT', ['durable', 'async'], 'durable'),
    reads: read.oneOf('CONCORDIA_AUDIT_READS', ['spooled', 'committed'], 'spooled'),
    spoolDir: resolve(read.optionalString('CONCORDIA_AUDIT_SPOOL_DIR') ?? `${dataDir}/audit-spool`),
    spooledFlushMs: read.integer('CONCORDIA_AUDIT_SPOOLED_FLUSH_MS', 20, 0, 600_000),
    maxPendingMs: read.integer('CONCORDIA_AUDIT_MAX_PENDING_MS', 2000, 10, 600_000),
    batchMaxEvents: read.integer('CONCORDIA_AUDIT_BATCH_MAX_EVENTS', 500, 1, 5000),
    flushDelayMs: read.integer('CONCORDIA_AUDIT_FLUSH_MS', 0, 0, 1000),
    ...(site !== undefined ? { site } : {}),
    ...(syslogUrl !== undefined ? { syslogUrl } : {}),
    ...(syslogCaFile !== undefined ? { syslogCaFile: resolve(syslogCaFile) } : {}),
  };
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
