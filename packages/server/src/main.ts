/**
 * The composition root (DESIGN.md rule 4): the one place that reads the configuration and builds
 * every component — logger, database, migrations, store, FHIR core, metrics, HTTP app — handing
 * each its dependencies. `cli.ts` calls it; nothing else imports it.
 */

import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import serverPackage from '../package.json' with { type: 'json' };
import { createAccessRowFilter } from './access/access-policy.ts';
import { relationshipTypesIn } from './access/relationship-snapshot.ts';
import { scopeWriteHook } from './access/scope-writes.ts';
import { buildApp } from './app.ts';
import { type Audit, auditSourceOf, createAudit } from './audit/audit.ts';
import { openNodeSpool } from './audit/spool-recovery.ts';
import { attachmentBlobWrites } from './blobs/attachment-writes.ts';
import { binaryBlobWrites } from './blobs/binary-writes.ts';
import { createConfiguredBlobStore } from './blobs/blobs.ts';
import { withStoredBlobContent } from './blobs/sealed-content-reads.ts';
import { contentAsWritten, writeAnswerContent } from './blobs/write-answers.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { loadDemoData } from './demo/load-demo-data.ts';
import { bulkExportOperations } from './fhir/bulk-export.ts';
import { bulkExportStatusOperations } from './fhir/bulk-export-status.ts';
import { bulkImportOperation } from './fhir/bulk-import.ts';
import { createFhirCore } from './fhir/core.ts';
import { CustomSearchParameters } from './fhir/custom-search-parameters.ts';
import { patientEverything } from './fhir/everything.ts';
import type { FhirCore } from './fhir/interaction.ts';
import { jobStatusOperation } from './fhir/job-status.ts';
import { masterDataWrites } from './fhir/master-data-writes.ts';
import { reindexOperation } from './fhir/reindex.ts';
import { searchParameterWrites } from './fhir/search-parameter-writes.ts';
import { terminologyOperations } from './fhir/terminology/terminology-operations.ts';
import { terminologyFilterResolver } from './fhir/terminology-filters.ts';
import { validateOperation } from './fhir/validation/validate-operation.ts';
import { createValidationService, type ValidationService } from './fhir/validation/validation-service.ts';
import { validationWriteHooks } from './fhir/validation/validation-write-hooks.ts';
import { adminAudit } from './identity/admin-audit.ts';
import { capabilitySecurity } from './identity/capability-security.ts';
import { prepareDemoIdentity } from './identity/demo-identity.ts';
import { createIdentity } from './identity/identity.ts';
import { corePatientDirectory } from './identity/patient-picker.ts';
import { importUploads } from './import/import-uploads.ts';
import { bulkExportJobHandler } from './jobs/bulk-export-job.ts';
import { bulkImportJobHandler } from './jobs/bulk-import-job.ts';
import { sweepExpiredExports } from './jobs/export-retention.ts';
import { createJobStore, type JobStore } from './jobs/job-store.ts';
import { createJobWorker, type JobWorker } from './jobs/job-worker.ts';
import { reindexJobHandler } from './jobs/reindex-job.ts';
import { createLedger } from './ledger/ledger.ts';
import { ledgerRecorder } from './ledger/ledger-recorder.ts';
import { createLogger } from './ops/logger.ts';
import { createMetrics } from './ops/metrics.ts';
import { createSignatures } from './signatures/signatures.ts';
import { type ChangeNotifications, createChangeNotifications } from './store/change-notifications.ts';
import type { Database } from './store/database.ts';
import { joiningTransactions } from './store/joined-transactions.ts';
import { migrate } from './store/migrate.ts';
import { openPgliteDatabase } from './store/pglite.ts';
import type { ResourceStore } from './store/port.ts';
import { createPostgresDatabase } from './store/postgres.ts';
import { createResourceStore } from './store/resource-store.ts';
import { searchParameterSource } from './store/search-parameter-rows.ts';
import { createTerminologyService } from './terminology/sql-terminology-service.ts';
import type { TerminologyService } from './terminology/terminology-service.ts';
import { terminologyWriteHooks } from './terminology/terminology-write-hooks.ts';

/** What the CapabilityStatement reports as `software`. Update `releaseDate` when cutting a release. */
export const SOFTWARE = { name: 'Concordia', version: serverPackage.version, releaseDate: '2026-11-24' };

export const OPEN_MODE_WARNING =
  'insecure demo (CONCORDIA_AUTH=insecure-demo): no authentication, every request is served as the open development principal — never with real patient data';

/** Exit statuses of the `concordia` command. */
export const EXIT = { ok: 0, failure: 1, badConfiguration: 2 } as const;

/**
 * The configuration, or the process ends with status 2 and every problem listed: a server that
 * starts with a wrong setting does more harm than one that refuses to start.
 */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT.badConfiguration);
  }
}

/**
 * `concordia serve`: starts the server and runs until SIGTERM or SIGINT, then shuts down
 * gracefully and exits 0. A second signal during shutdown exits at once with status 1.
 */
export async function serve(options: { demo: boolean }): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config);
  let server: RunningServer;
  try {
    server = await startServer({ config, demo: options.demo, logger });
  } catch (error) {
    logger.fatal({ err: error }, 'the server could not start');
    process.exit(EXIT.failure);
  }
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const forceExit = (signal: NodeJS.Signals): void => {
    logger.warn({ signal }, `received ${signal} again: exiting without waiting`);
    process.exit(EXIT.failure);
  };
  const shutDown = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, `received ${signal}`);
    for (const name of signals) {
      process.off(name, shutDown);
      process.once(name, forceExit);
    }
    server.close().then(
      () => process.exit(EXIT.ok),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(EXIT.failure);
      },
    );
  };
  for (const name of signals) process.on(name, shutDown);
}

export interface DatabaseChoice {
  /**
   * Where the embedded PGlite keeps its files when `config.databaseUrl` is unset; default
   * `<dataDir>/pglite`. `memory://` keeps everything in memory (tests, throw-away demos).
   */
  pgliteDataDir?: string;
}

/** PostgreSQL when `DATABASE_URL` is set, else the embedded PGlite (DESIGN.md D3). */
export async function openDatabase(
  config: Config,
  logger: Logger,
  choice: DatabaseChoice = {},
): Promise<Database> {
  if (config.databaseUrl !== undefined) {
    return createPostgresDatabase({
      connectionString: config.databaseUrl,
      poolSize: config.dbPoolSize,
      onIdleClientError: (error) =>
        logger.warn({ err: error }, 'a pooled database connection failed; reconnecting'),
    });
  }
  const dataDir = choice.pgliteDataDir ?? join(config.dataDir, 'pglite');
  // PGlite creates its own directory but not the parents (`./data` on a fresh checkout).
  if (!dataDir.includes('://')) await mkdir(dirname(dataDir), { recursive: true });
  return openPgliteDatabase({ dataDir });
}

/** What serves FHIR over one migrated database: store, core, search parameters and the job worker. */
export interface Components {
  store: ResourceStore;
  core: FhirCore;
  searchParameters: CustomSearchParameters;
  jobs: JobStore;
  /** Not started: `serve` starts it, `concordia reindex` runs it until idle. */
  worker: JobWorker;
  /** The audit (audit/audit.ts): close it after the doors and before the store. */
  audit: Audit;
  /** Code systems, value sets and concept maps (terminology/sql-terminology-service.ts). */
  terminology: TerminologyService;
  /** The validator with the exchange's profiles (fhir/validation/validation-service.ts). */
  validation: ValidationService;
}

/**
 * The server's own search-parameter registry (R4 plus the stored SearchParameters) feeds the
 * store's indexer, the core's search parser and its CapabilityStatement alike.
 */
export async function buildComponents(
  database: Database,
  config: Config,
  logger: Logger,
  /** Change notifications between nodes (PostgreSQL: `openChangeNotifications`); absent: one node. */
  changes?: ChangeNotifications,
): Promise<Components> {
  const source = searchParameterSource(database);
  const searchParameters = new CustomSearchParameters({
    source,
    logger,
    refreshIntervalMs: config.searchParameterRefreshMs,
  });
  await searchParameters.refresh(true);
  const fhirBase = `${config.baseUrl}/fhir`;
  // Rows a crashed process spooled but never committed are stored before this one serves anything.
  const spool = config.audit.enabled
    ? await openNodeSpool({
        db: database,
        dir: config.audit.spoolDir,
        source: auditSourceOf(config.audit, fhirBase),
        ledger: config.ledger.enabled,
        maxBatchEvents: config.audit.batchMaxEvents,
        logger,
      })
    : undefined;
  const audit = createAudit({
    db: database,
    config: config.audit,
    fhirBase,
    ledger: config.ledger.enabled,
    ...(spool !== undefined ? { spool } : {}),
    logger,
  });
  // Every read goes through the access decision (access/access-policy.ts, DESIGN.md rule 2).
  // Write hooks ask the terminology service inside the store's transaction: it must join it.
  const transactional = joiningTransactions(database);
  // Its reads inside a write (a signature check over content kept by a PATCH) join the transaction.
  const blobs = createConfiguredBlobStore(transactional, config);
  const binaryWrites = binaryBlobWrites(blobs);
  const attachmentWrites = attachmentBlobWrites(blobs);
  // Binary.data and every Attachment.data live in the encrypted blob store; reads put them back
  // (blobs/sealed-content-reads.ts).
  const store = withStoredBlobContent(
    createResourceStore(transactional, searchParameters.index, {
      recorders: [
        ...audit.recorders,
        ...(config.ledger.enabled ? [ledgerRecorder()] : []),
        binaryWrites.recorder,
        attachmentWrites.recorder,
      ],
      // --- change notifications (store/change-notifications.ts): other nodes drop what a write changed.
      rowFilter: createAccessRowFilter({
        ttlMs: config.relationshipCacheSeconds * 1000,
        ...(changes !== undefined ? { changes } : {}),
      }),
      ...(changes !== undefined ? { announceWrites: relationshipAnnouncement(changes) } : {}),
      // --- end change notifications
    }),
    blobs,
  );
  const terminology = createTerminologyService(transactional, { store });
  const validation = createValidationService({ config: config.validation, terminology, logger });
  await validation.load(store);
  const jobs = createJobStore(database);
  const uploads = importUploads(config.dataDir, config.importMaxUploadBytes);
  const worker = createJobWorker({
    store: jobs,
    handlers: [
      reindexJobHandler({ store, searchParameters, source }),
      // The import job loads through the core, which is built below with the worker's queue.
      bulkImportJobHandler({ core: () => core, uploads, updateCreate: config.updateCreate }),
      bulkExportJobHandler({
        store,
        searchParameters: searchParameters.registry,
        exportDir: config.exportDir,
        pageSize: config.exportPageSize,
        limits: { maxResources: config.exportFileMaxResources, maxBytes: config.exportFileMaxBytes },
      }),
    ],
    pollIntervalMs: config.jobPollIntervalMs,
    leaseSeconds: config.jobLeaseSeconds,
    logger,
  });
  const signatures = await createSignatures(database, config, logger, contentAsWritten(blobs));
  const core = createFhirCore({
    store,
    config,
    software: SOFTWARE,
    operations: [
      patientEverything,
      reindexOperation({ jobs: worker.queue, searchParameters }),
      jobStatusOperation(worker.queue),
      bulkImportOperation({ jobs: worker.queue, uploads, importDir: config.importDir }),
      ...bulkExportOperations(worker.queue),
      ...bulkExportStatusOperations({
        jobs: worker.queue,
        exportDir: config.exportDir,
        retentionHours: config.exportRetentionHours,
      }),
      ...audit.operations,
      ...terminologyOperations(terminology),
      validateOperation(validation),
      ...signatures.operations,
    ],
    searchParameters: searchParameters.registry,
    writeHooks: [
      // First: a write outside the token's query-restricted scopes is refused before any other work.
      scopeWriteHook(),
      searchParameterWrites(searchParameters, worker.queue, logger),
      // Stored CodeSystems/ConceptMaps fill the concept tables before the bindings are checked.
      ...terminologyWriteHooks(),
      ...masterDataWrites(config.masterData, terminology),
      ...validationWriteHooks(validation, logger),
      // Last: validation sees content as it was sent, before its data moves to the blob store.
      signatures.writeHook,
      binaryWrites.hook,
      attachmentWrites.hook,
    ],
    interceptors: [writeAnswerContent(blobs)],
    terminologyFilters: terminologyFilterResolver(terminology, config.terminologySearchMaxCodes),
    security: capabilitySecurity(config),
    observers: audit.observers,
    readOnlyTypes: audit.readOnlyTypes,
  });
  return { store, core, searchParameters, jobs, worker, audit, terminology, validation };
}

// --- change notifications between nodes (store/change-notifications.ts)
/** PostgreSQL: the node's listening connection; PGlite is one node and needs none. */
export async function openChangeNotifications(
  database: Database,
  config: Config,
  logger: Logger,
): Promise<ChangeNotifications | undefined> {
  if (database.kind !== 'postgres' || config.databaseUrl === undefined) return undefined;
  return createChangeNotifications({
    connectionString: config.databaseUrl,
    onError: (error) =>
      logger.warn({ err: error }, 'the change-notification connection failed; reconnecting'),
  });
}

/** Writes that change relationships (access/relationship-snapshot.ts) are announced; others are not. */
function relationshipAnnouncement(changes: ChangeNotifications) {
  return (written: ReadonlySet<string>) => {
    const types = relationshipTypesIn(written);
    return types.length > 0 ? changes.notice(types) : undefined;
  };
}
// --- end change notifications

export interface StartServerOptions extends DatabaseChoice {
  config: Config;
  /** Load the demo data set when the database is empty (`concordia serve --demo`). */
  demo?: boolean;
  logger?: Logger;
}

export interface RunningServer {
  /** The FHIR base the server answers at, with the port actually bound (`http://127.0.0.1:8080/fhir`). */
  fhirBaseUrl: string;
  app: FastifyInstance;
  /**
   * Graceful shutdown: stop accepting connections, let in-flight requests finish (at most
   * `config.shutdownGraceSeconds`, then cut the remaining connections), then close the store.
   * Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config);
  const database = await openDatabase(config, logger, options);
  // Until the store owns the database, a failed start must close the database itself.
  let release: () => Promise<void> = () => database.close();
  try {
    const applied = await migrate(database);
    if (applied.length > 0) logger.info({ migrations: applied }, 'applied database migrations');
    const changes = await openChangeNotifications(database, config, logger);
    release = async () => {
      await changes?.close();
      await database.close();
    };
    const { store, core, searchParameters, jobs, worker, audit } = await buildComponents(
      database,
      config,
      logger,
      changes,
    );
    release = async () => {
      await changes?.close();
      await store.close();
    };
    const metrics = createMetrics();
    metrics.trackDatabasePool(() => database.poolStats());
    metrics.trackJobs(() => jobs.counts());
    const identity = await createIdentity({
      config,
      db: database,
      patients: corePatientDirectory(core),
      signIns: audit.signIns,
      adminAudit: adminAudit(
        config.audit.enabled ? audit.sink : undefined,
        auditSourceOf(config.audit, `${config.baseUrl}/fhir`),
      ),
    });
    if (changes !== undefined) identity.revocations.listen(changes);
    if (identity.keySource.kind === 'generated') {
      logger.warn(
        { path: identity.keySource.path },
        'generated a new identity key for signing keys and TOTP secrets; set CONCORDIA_IDENTITY_KEY in production',
      );
    }
    // The ledger's key is sealed with the identity key, like the token signing keys.
    const ledger = config.ledger.enabled
      ? await createLedger({ db: database, config: config.ledger, box: identity.box, logger })
      : undefined;
    const app = await buildApp({
      config,
      store,
      core,
      logger,
      metrics,
      identity,
      ...(ledger !== undefined ? { ledger } : {}),
    });
    const sweep = setInterval(() => {
      sweepExpiredExports(config.exportDir, jobs, config.exportRetentionHours).catch((error: unknown) =>
        logger.warn({ err: error }, 'removing expired bulk export files failed'),
      );
    }, EXPORT_SWEEP_MS);
    sweep.unref();
    const stopBackground = async (): Promise<void> => {
      clearInterval(sweep);
      searchParameters.stop();
      await worker.stop();
      await ledger?.stop();
      // The doors are closed: write the audit events still queued before the database closes.
      await audit.close();
      await changes?.close();
    };
    release = async () => {
      await app.close();
      await stopBackground();
      await store.close();
    };
    await app.listen({ port: config.port, host: config.host });
    searchParameters.startPolling();
    worker.start();
    ledger?.start();

    const fhirBaseUrl = `${listeningUrl(app, config.tls !== undefined)}/fhir`;
    logger.info({ url: fhirBaseUrl }, `Concordia FHIR server listening at ${fhirBaseUrl}`);
    if (config.authMode === 'open') logger.warn(OPEN_MODE_WARNING);
    const server: RunningServer = {
      fhirBaseUrl,
      app,
      close: shutdownOnce(app, stopBackground, store, config, logger),
    };
    release = () => server.close();
    if (options.demo === true) {
      await loadDemo(core, store, logger);
      await prepareDemoIdentity({
        directories: identity,
        patients: identity.patients,
        dataDir: config.dataDir,
        issuer: identity.issuer,
        logger,
      });
    }
    return server;
  } catch (error) {
    // The caller gets no handle when the start fails, so nothing that started may outlive it.
    await release().catch((closeError: unknown) =>
      logger.error({ err: closeError }, 'cleanup after a failed start failed'),
    );
    throw error;
  }
}

async function loadDemo(core: FhirCore, store: ResourceStore, logger: Logger): Promise<void> {
  const result = await loadDemoData(core, store);
  if (result.loaded) {
    const { patients, resources, seconds } = result;
    logger.info(
      { patients, resources, seconds },
      `loaded the demo data set: ${patients} patients, ${resources} resources in ${seconds.toFixed(1)} s`,
    );
  } else {
    logger.info('demo data not loaded: the database already holds data');
  }
}

const IDLE_SWEEP_MS = 50;

/** How often expired bulk export files are looked for (export-retention.ts). */
const EXPORT_SWEEP_MS = 10 * 60 * 1000;

function shutdownOnce(
  app: FastifyInstance,
  stopBackground: () => Promise<void>,
  store: ResourceStore,
  config: Config,
  logger: Logger,
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    const graceSeconds = config.shutdownGraceSeconds;
    logger.info(`shutting down: no new connections; waiting up to ${graceSeconds} s for requests in flight`);
    const deadline = setTimeout(() => {
      logger.warn(`requests still in flight after ${graceSeconds} s; closing their connections`);
      app.server.closeAllConnections();
    }, graceSeconds * 1000);
    // A keep-alive connection whose last request finishes during shutdown becomes idle but stays
    // open until the client hangs up; without this sweep, close() would wait out the deadline.
    const sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
    try {
      await app.close();
    } finally {
      clearTimeout(deadline);
      clearInterval(sweep);
    }
    // A running job goes back to the queue at its next checkpoint; another node (or the next
    // start) resumes it from there.
    await stopBackground();
    await store.close();
    logger.info('shut down');
  };
  return () => {
    closing ??= shutdown();
    return closing;
  };
}

function listeningUrl(app: FastifyInstance, tls: boolean): string {
  const address: AddressInfo | string | null = app.server.address();
  if (address === null || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${tls ? 'https' : 'http'}://${host}:${address.port}`;
}
