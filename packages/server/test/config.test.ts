import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

function problemOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has working defaults for an empty environment: PGlite in ./data, tokens required, port 8080 on loopback', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: resolve('./data'),
      dbPoolSize: 10,
      logLevel: 'info',
      baseUrl: 'http://127.0.0.1:8080',
      maxBodyBytes: 64 * 1024 * 1024,
      updateCreate: true,
      defaultPageSize: 20,
      maxPageSize: 1000,
      maxIncludes: 1000,
      maxBundleEntries: 10_000,
      importMaxUploadBytes: 4 * 1024 ** 3,
      authMode: 'required',
      accessTokenSeconds: 300,
      accessHidden: 'not-found',
      refreshTokenSeconds: 30 * 86_400,
      loginMaxFailures: 5,
      loginLockoutSeconds: 900,
      corsOrigins: ['*'],
      hsts: { mode: 'auto', maxAgeSeconds: 31_536_000, includeSubDomains: false },
      trustProxy: [],
      rateLimit: { enabled: true, windowSeconds: 60, max: 30_000, signInMax: 120 },
      relationshipCacheSeconds: 5,
      shutdownGraceSeconds: 10,
      jobPollIntervalMs: 1000,
      jobLeaseSeconds: 60,
      searchParameterRefreshMs: 5000,
      exportDir: resolve('./data/exports'),
      exportRetentionHours: 24,
      exportPageSize: 1000,
      exportFileMaxResources: 100_000,
      exportFileMaxBytes: 512 * 1024 * 1024,
      ledger: {
        enabled: true,
        origin: '127.0.0.1:8080/ledger',
        sequenceIntervalMs: 1000,
        batchSize: 5000,
        witnessKeys: [],
        quorum: 0,
      },
      audit: {
        enabled: true,
        failureMode: 'fail-closed',
        commit: 'durable',
        reads: 'spooled',
        spoolDir: resolve('./data/audit-spool'),
        spooledFlushMs: 20,
        maxPendingMs: 2000,
        batchMaxEvents: 500,
        flushDelayMs: 0,
      },
      masterData: {
        codes: 'off',
        ucumUnits: 'off',
        encounterClasses: {
          hospital: ['IMP', 'ACUTE', 'NONAC', 'EMER', 'SS', 'OBSENC', 'PRENC'],
          'primary-care': ['AMB', 'HH', 'VR'],
        },
        systems: {
          hospital: ['http://hl7.org/fhir/sid/icd-10', 'http://hl7.org/fhir/sid/icd-10-cm'],
          'primary-care': [
            'http://hl7.org/fhir/sid/icpc-2',
            'http://hl7.org/fhir/sid/icd-10',
            'http://hl7.org/fhir/sid/icd-10-cm',
          ],
        },
      },
      terminologySearchMaxCodes: 10_000,
      validation: {
        policy: 'reject',
        policyByType: {},
        profilesByType: {},
        allowedExtensionDomains: [],
      },
    });
  });

  it('serves HTTPS when a certificate and key are given: the base URL defaults to https', () => {
    const config = loadConfig({ CONCORDIA_TLS_CERT: 'tls/cert.pem', CONCORDIA_TLS_KEY: 'tls/key.pem' });
    expect(config.tls).toEqual({ certFile: resolve('tls/cert.pem'), keyFile: resolve('tls/key.pem') });
    expect(config.baseUrl).toBe('https://127.0.0.1:8080');
    expect(problemOf({ CONCORDIA_TLS_CERT: 'cert.pem' })).toContain(
      'CONCORDIA_TLS_CERT and CONCORDIA_TLS_KEY must be set together',
    );
    expect(
      problemOf({
        CONCORDIA_TLS_CERT: 'cert.pem',
        CONCORDIA_TLS_KEY: 'key.pem',
        CONCORDIA_BASE_URL: 'http://fhir.example.org',
      }),
    ).toContain('CONCORDIA_BASE_URL must be an https:// URL when CONCORDIA_TLS_CERT is set');
  });

  it('refuses CONCORDIA_HSTS=on without an https base URL, and bad proxy addresses', () => {
    expect(problemOf({ CONCORDIA_HSTS: 'on' })).toContain('CONCORDIA_HSTS=on needs an https://');
    expect(
      loadConfig({ CONCORDIA_HSTS: 'on', CONCORDIA_BASE_URL: 'https://fhir.example.org' }).hsts.mode,
    ).toBe('on');
    expect(loadConfig({ CONCORDIA_TRUST_PROXY: '10.0.0.0/8, loopback, ::1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      'loopback',
      '::1',
    ]);
    expect(problemOf({ CONCORDIA_TRUST_PROXY: '10.0.0.0/33,proxy.example' })).toMatch(
      /not an address.*"10\.0\.0\.0\/33"[\s\S]*"proxy\.example"/,
    );
  });

  it('reads the bulk export settings; the export directory defaults to <data dir>/exports', () => {
    expect(loadConfig({ CONCORDIA_DATA_DIR: '/srv/concordia' }).exportDir).toBe(
      resolve('/srv/concordia/exports'),
    );
    expect(
      loadConfig({
        CONCORDIA_EXPORT_DIR: '/mnt/exports',
        CONCORDIA_EXPORT_RETENTION_HOURS: '48',
        CONCORDIA_EXPORT_PAGE_SIZE: '200',
        CONCORDIA_EXPORT_FILE_MAX_RESOURCES: '5000',
        CONCORDIA_EXPORT_FILE_MAX_BYTES: '1048576',
      }),
    ).toMatchObject({
      exportDir: resolve('/mnt/exports'),
      exportRetentionHours: 48,
      exportPageSize: 200,
      exportFileMaxResources: 5000,
      exportFileMaxBytes: 1_048_576,
    });
    expect(() => loadConfig({ CONCORDIA_EXPORT_RETENTION_HOURS: '0' })).toThrow(
      /CONCORDIA_EXPORT_RETENTION_HOURS/,
    );
  });

  it('reads every setting from its variable', () => {
    const config = loadConfig({
      PORT: '9090',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://concordia@db/concordia',
      CONCORDIA_DATA_DIR: '/var/lib/concordia',
      CONCORDIA_DB_POOL_SIZE: '25',
      LOG_LEVEL: 'debug',
      CONCORDIA_BASE_URL: 'https://hie.example.org/',
      CONCORDIA_MAX_BODY_BYTES: '1048576',
      CONCORDIA_UPDATE_CREATE: 'off',
      CONCORDIA_DEFAULT_PAGE_SIZE: '50',
      CONCORDIA_MAX_PAGE_SIZE: '500',
      CONCORDIA_MAX_INCLUDES: '250',
      CONCORDIA_AUTH: 'required',
      CONCORDIA_IDENTITY_KEY: Buffer.alloc(32, 7).toString('base64'),
      CONCORDIA_ACCESS_TOKEN_SECONDS: '600',
      CONCORDIA_REFRESH_TOKEN_SECONDS: '86400',
      CONCORDIA_LOGIN_MAX_FAILURES: '3',
      CONCORDIA_LOGIN_LOCKOUT_SECONDS: '60',
      CONCORDIA_SHUTDOWN_GRACE_SECONDS: '30',
      CONCORDIA_JOB_POLL_INTERVAL_MS: '250',
      CONCORDIA_JOB_LEASE_SECONDS: '120',
      CONCORDIA_SEARCH_PARAMETER_REFRESH_MS: '2000',
    });
    expect(config).toMatchObject({
      port: 9090,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://concordia@db/concordia',
      dataDir: '/var/lib/concordia',
      dbPoolSize: 25,
      logLevel: 'debug',
      baseUrl: 'https://hie.example.org',
      maxBodyBytes: 1_048_576,
      updateCreate: false,
      defaultPageSize: 50,
      maxPageSize: 500,
      maxIncludes: 250,
      authMode: 'required',
      identityKey: Buffer.alloc(32, 7).toString('base64'),
      accessTokenSeconds: 600,
      refreshTokenSeconds: 86_400,
      loginMaxFailures: 3,
      loginLockoutSeconds: 60,
      shutdownGraceSeconds: 30,
      jobPollIntervalMs: 250,
      jobLeaseSeconds: 120,
      searchParameterRefreshMs: 2000,
    });
  });

  it('reads the Bundle and import limits and resolves the import directory', () => {
    expect(
      loadConfig({
        CONCORDIA_MAX_BUNDLE_ENTRIES: '500',
        CONCORDIA_IMPORT_DIR: 'incoming',
        CONCORDIA_IMPORT_MAX_UPLOAD_BYTES: '1048576',
      }),
    ).toMatchObject({
      maxBundleEntries: 500,
      importDir: resolve('incoming'),
      importMaxUploadBytes: 1_048_576,
    });
    expect(() => loadConfig({ CONCORDIA_MAX_BUNDLE_ENTRIES: '0' })).toThrow(/CONCORDIA_MAX_BUNDLE_ENTRIES/);
  });

  it('brackets an IPv6 host in the default base URL', () => {
    expect(loadConfig({ HOST: '::1', PORT: '8443' }).baseUrl).toBe('http://[::1]:8443');
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ PORT: '  ', DATABASE_URL: '' })).toMatchObject({ port: 8080 });
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeUndefined();
  });

  it.each([
    [{ PORT: '80a' }, 'PORT must be an integer from 0 to 65535, got "80a"'],
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535, got "70000"'],
    [{ DATABASE_URL: 'mysql://db/concordia' }, 'DATABASE_URL must start with postgres:// or postgresql://'],
    [{ CONCORDIA_BASE_URL: 'ftp://files' }, 'CONCORDIA_BASE_URL is not an http(s) URL: ftp://files'],
    [
      { CONCORDIA_AUTH_MODE: 'smart' },
      'CONCORDIA_AUTH_MODE must be one of insecure-demo, required, got "smart"',
    ],
    [{ CONCORDIA_AUTH: 'oauth' }, 'CONCORDIA_AUTH must be one of insecure-demo, required, got "oauth"'],
    // Issue 6: the foundation's open mode is gone; a demo without authentication is asked for by name.
    [{ CONCORDIA_AUTH: 'open' }, 'CONCORDIA_AUTH=open was removed'],
    [
      { CONCORDIA_AUTH: 'insecure-demo', HOST: '0.0.0.0' },
      'listens only on a loopback address; HOST is 0.0.0.0',
    ],
    [{ CONCORDIA_IDENTITY_KEY: 'c2hvcnQ=' }, 'CONCORDIA_IDENTITY_KEY must be 32 bytes in base64'],
    [{ CONCORDIA_DB_POOL_SIZE: '0' }, 'CONCORDIA_DB_POOL_SIZE must be an integer from 1 to 1000, got "0"'],
    [
      { LOG_LEVEL: 'verbose' },
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ],
    [{ CONCORDIA_MAX_BODY_BYTES: '12.5' }, 'CONCORDIA_MAX_BODY_BYTES must be an integer'],
    [{ CONCORDIA_UPDATE_CREATE: 'maybe' }, 'CONCORDIA_UPDATE_CREATE must be true or false, got "maybe"'],
    [{ CONCORDIA_DEFAULT_PAGE_SIZE: '0' }, 'CONCORDIA_DEFAULT_PAGE_SIZE must be an integer from 1 to 10000'],
    [{ CONCORDIA_MAX_PAGE_SIZE: '20000' }, 'CONCORDIA_MAX_PAGE_SIZE must be an integer from 1 to 10000'],
    [
      { CONCORDIA_DEFAULT_PAGE_SIZE: '200', CONCORDIA_MAX_PAGE_SIZE: '100' },
      'CONCORDIA_DEFAULT_PAGE_SIZE must not exceed CONCORDIA_MAX_PAGE_SIZE',
    ],
    [
      { CONCORDIA_SHUTDOWN_GRACE_SECONDS: '-1' },
      'CONCORDIA_SHUTDOWN_GRACE_SECONDS must be an integer from 0 to 3600',
    ],
  ])('rejects %j with a message naming the variable', (env, message) => {
    expect(problemOf(env)).toContain(message);
  });

  it('lists every problem at once, so one restart fixes them all', () => {
    const message = problemOf({ PORT: 'x', LOG_LEVEL: 'loud', CONCORDIA_UPDATE_CREATE: '2' });
    expect(message.split('\n')).toEqual([
      'Invalid configuration:',
      '  - PORT must be an integer from 0 to 65535, got "x"',
      '  - LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      '  - CONCORDIA_UPDATE_CREATE must be true or false, got "2"',
    ]);
  });
});
