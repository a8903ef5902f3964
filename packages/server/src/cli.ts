/**
 * The `concordia` command: `serve`, `migrate`, `import`. Run it as `npx concordia …` (the
 * workspace bin), `npm run concordia -- …`, or `node --import tsx packages/server/src/cli.ts …`.
 * Output meant for people and logs goes to stderr; results (the import summary, the migrations
 * applied) go to stdout, so they can be piped.
 */

import { FhirError } from '@concordia/fhir';
import { Command, InvalidArgumentError } from 'commander';
import { registerBlobCommands } from './blobs/blobs-cli.ts';
import { registerMasterKeyCommands } from './blobs/keys-cli.ts';
import { reindexTypes } from './fhir/reindex.ts';
import { registerConformanceCommands } from './fhir/validation/conformance-cli.ts';
import { registerIdentityCommands } from './identity/identity-cli.ts';
import { DEFAULT_IMPORT_BATCH_SIZE } from './import/import-batches.ts';
import { formatImportSummary, importProgress } from './import/import-progress.ts';
import { ImportSourceError, planImport } from './import/import-sources.ts';
import { DEFAULT_IMPORT_CONCURRENCY, runImport } from './import/importer.ts';
import { isFinished, type Job } from './jobs/job.ts';
import { type JobProgressView, jobProgress } from './jobs/job-progress.ts';
import type { JobWorker } from './jobs/job-worker.ts';
import { REINDEX_JOB, reindexParams } from './jobs/reindex-job.ts';
import { registerLedgerCommands } from './ledger/ledger-cli.ts';
import { buildComponents, EXIT, loadConfigOrExit, openDatabase, SOFTWARE, serve } from './main.ts';
import { createLogger } from './ops/logger.ts';
import { registerCertificateCommands } from './signatures/certificates-cli.ts';
import { migrate } from './store/migrate.ts';
import { registerTerminologyCommands } from './terminology/import/terminology-import-cli.ts';

const ENVIRONMENT_HELP = `
Configuration comes from environment variables (docs/configuration.md), among them:
  PORT, HOST            where to listen (default 127.0.0.1:8080)
  DATABASE_URL          PostgreSQL (postgres://…); unset: embedded PGlite in $CONCORDIA_DATA_DIR/pglite
  CONCORDIA_DATA_DIR    local state (default ./data)
  LOG_LEVEL             fatal, error, warn, info (default), debug, trace, silent
  CONCORDIA_AUTH        required (default) or insecure-demo (no authentication; loopback HOST only)
  CONCORDIA_TLS_CERT, CONCORDIA_TLS_KEY   PEM files: serve HTTPS (docs/security.md)
  CONCORDIA_RATE_LIMIT_MAX                requests per client or address a window (default 30000 a minute)
  CONCORDIA_AUDIT_READS                   spooled (default) or committed (docs/audit-and-ledger.md)

Exit status: 0 success, 1 failure, 2 invalid configuration.`;

function concordiaProgram(): Command {
  const program = new Command('concordia')
    .description('Concordia — a FHIR R4 health information exchange.')
    .version(SOFTWARE.version)
    // `concordia --version` only before a command: `terminology import --version 2021` is the release.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ concordia serve --demo              start with demo data on the embedded database
  $ concordia migrate                   bring the database schema up to date
  $ concordia import ./synthea/fhir     load Synthea Bundles (or NDJSON, .gz) through the FHIR API
  $ concordia reindex --type Patient    rebuild the search index of Patients (custom SearchParameters)
  $ concordia terminology import icd10cm ./icd10cm-2021/   load a code system release (docs/terminology.md)
${ENVIRONMENT_HELP}`,
    );

  program
    .command('serve')
    .description(
      'Run the FHIR server (FHIR API under /fhir, /healthz, /readyz, /metrics) until SIGTERM or SIGINT.',
    )
    .option(
      '--demo',
      'load the generated demo data set (25 patients and their care providers) if the database is empty',
    )
    .option(
      '--insecure-demo',
      'answer FHIR requests WITHOUT authentication, on a loopback address only (CONCORDIA_AUTH=insecure-demo); never with real patient data',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ concordia serve --demo
  $ PORT=9000 LOG_LEVEL=debug concordia serve
  $ DATABASE_URL=postgres://concordia@db.internal/concordia concordia serve

On SIGTERM or SIGINT the server stops accepting connections, lets requests in flight finish
(at most CONCORDIA_SHUTDOWN_GRACE_SECONDS, default 10) and exits 0.`,
    )
    .action(async (options: { demo?: boolean; insecureDemo?: boolean }) => {
      if (options.insecureDemo === true) process.env.CONCORDIA_AUTH = 'insecure-demo';
      await serve({ demo: options.demo === true });
    });

  program
    .command('migrate')
    .description('Apply the database migrations that are not applied yet, and print them.')
    .addHelpText(
      'after',
      `
Examples:
  $ concordia migrate
  $ DATABASE_URL=postgres://concordia@db.internal/concordia concordia migrate

"serve" and "import" migrate on start as well; run this on its own before rolling out a new
version to several nodes, so that none of them changes the schema while others serve.`,
    )
    .action(async () => {
      const config = loadConfigOrExit();
      const database = await openDatabase(config, createLogger(config, process.stderr));
      try {
        const applied = await migrate(database);
        process.stdout.write(
          applied.length === 0
            ? 'The database schema is up to date; no migrations applied.\n'
            : `Applied ${applied.length === 1 ? '1 migration' : `${applied.length} migrations`}:\n${applied.map((name) => `  ${name}\n`).join('')}`,
        );
      } finally {
        await database.close();
      }
    });

  program
    .command('import')
    .description(
      'Load FHIR resources from files or directories (recursively) through the FHIR API: ' +
        '.json (a resource or Bundle), .ndjson (one resource per line), and both gzipped (.json.gz, .ndjson.gz).',
    )
    .argument('<paths...>', 'files or directories to import')
    .option(
      '-c, --concurrency <files>',
      'files loaded at the same time',
      positiveInteger,
      DEFAULT_IMPORT_CONCURRENCY,
    )
    .option(
      '-b, --batch-size <resources>',
      'resources of a file written in one transaction',
      positiveInteger,
      DEFAULT_IMPORT_BATCH_SIZE,
    )
    .addHelpText(
      'after',
      `
How items are loaded:
  transaction or batch Bundle   POSTed to the FHIR base as it is (urn:uuid: references resolved)
  any other Bundle              each entry.resource on its own
  resource with an id           PUT Type/id, so importing again updates instead of duplicating
                                (an unchanged resource keeps its version)
  resource without an id        POST Type
Consecutive resources of a file go as one transaction of --batch-size PUT/POST entries; when it
fails, it is split until the failing resources are found, and those are loaded one by one.
Files named *hospitalInformation* or *practitionerInformation* (Synthea) are loaded first.
A failing item is reported with its file, line or entry and the server's diagnostics, and the
import goes on; the exit status is 1 if anything failed.
The embedded database (PGlite) serves one process at a time: stop "concordia serve" before
importing into it, or import into PostgreSQL (DATABASE_URL) while the server runs.

Examples:
  $ concordia import ./output/fhir
  $ concordia import Patient.ndjson.gz Observation.ndjson.gz
  $ concordia import --concurrency 8 /data/synthea > import-summary.txt`,
    )
    .action(async (paths: string[], options: { concurrency: number; batchSize: number }) => {
      const config = loadConfigOrExit();
      const plan = await planImport(paths);
      // Logs go to stderr beside the progress; stdout carries only the summary.
      const logger = createLogger(config, process.stderr);
      const database = await openDatabase(config, logger);
      try {
        const applied = await migrate(database);
        if (applied.length > 0) logger.info({ migrations: applied }, 'applied database migrations');
        const { store, core } = await buildComponents(database, config, logger);
        const summary = await runImport({
          core,
          plan,
          concurrency: options.concurrency,
          // A batch is one transaction Bundle: never more entries than the server accepts in one.
          batchSize: Math.min(options.batchSize, config.maxBundleEntries),
          observer: importProgress(process.stderr),
        });
        if (summary.resources > 0) {
          // A bulk load leaves the planner with the statistics of the database before it.
          await store.refreshStatistics();
          logger.info('refreshed the database statistics after the import');
        }
        process.stdout.write(`${formatImportSummary(summary)}\n`);
        if (summary.failures > 0) process.exitCode = EXIT.failure;
      } finally {
        await database.close();
      }
    });

  program
    .command('reindex')
    .description(
      'Rewrite the search index of stored resources with the current search parameters (after adding, ' +
        'changing or deleting a custom SearchParameter), as a durable job, showing its progress.',
    )
    .option('-t, --type <type...>', 'only these resource types (default: every type)')
    .option('-s, --search-parameter <url-or-code>', 'only the types this search parameter applies to')
    .addHelpText(
      'after',
      `
The job is the one POST /fhir/$reindex starts: a server running on the same PostgreSQL may take it
over, and an interrupted job is resumed from its last batch by the next worker. Searches on a
custom SearchParameter are accepted once a reindex covering its types has completed.

Examples:
  $ concordia reindex
  $ concordia reindex --type Patient Practitioner
  $ concordia reindex --search-parameter https://example.org/fhir/SearchParameter/patient-nickname`,
    )
    .action(async (options: { type?: string[]; searchParameter?: string }) => {
      const config = loadConfigOrExit();
      const logger = createLogger(config, process.stderr);
      const database = await openDatabase(config, logger);
      try {
        const applied = await migrate(database);
        if (applied.length > 0) logger.info({ migrations: applied }, 'applied database migrations');
        const { searchParameters, worker } = await buildComponents(database, config, logger);
        const types: string[] = [];
        for (const type of options.type ?? [undefined]) {
          types.push(...(await reindexTypes(searchParameters, type, options.searchParameter)));
        }
        const job = await worker.queue.enqueue(
          REINDEX_JOB,
          reindexParams({
            types,
            ...(options.searchParameter !== undefined ? { searchParameter: options.searchParameter } : {}),
          }),
        );
        const finished = await followJob(worker, job.id, jobProgress(process.stderr, 'reindex'));
        process.stdout.write(
          `Reindex job ${finished.id} ${finished.status}: ${String(finished.progress.done ?? 0)} resources of ${types.length} types${finished.error !== undefined ? ` (${finished.error})` : ''}\n`,
        );
        if (finished.status !== 'completed') process.exitCode = EXIT.failure;
      } finally {
        await database.close();
      }
    });

  const openMigrated = async () => {
    const config = loadConfigOrExit();
    const database = await openDatabase(config, createLogger(config, process.stderr));
    await migrate(database);
    return { config, database };
  };
  registerIdentityCommands(program, openMigrated);
  // After the identity commands: `keys rotate-master` joins their `keys` group.
  registerMasterKeyCommands(program, openMigrated);
  registerBlobCommands(program, openMigrated);
  registerCertificateCommands(program, openMigrated);
  registerLedgerCommands(program, openMigrated);
  registerTerminologyCommands(program, async () => {
    const { config, database } = await openMigrated();
    const logger = createLogger(config, process.stderr);
    return { database, core: async () => (await buildComponents(database, config, logger)).core };
  });
  registerConformanceCommands(program, async () => {
    const { config, database } = await openMigrated();
    const { core } = await buildComponents(database, config, createLogger(config, process.stderr));
    return { core, close: () => database.close() };
  });

  return program;
}

const FOLLOW_INTERVAL_MS = 250;

/**
 * Runs queued jobs in this process while showing `id`'s progress, until it has ended. A server on
 * the same database may run it instead; then this only watches.
 */
async function followJob(worker: JobWorker, id: string, view: JobProgressView): Promise<Job> {
  let running = true;
  const work = worker.runUntilIdle().finally(() => {
    running = false;
  });
  try {
    for (;;) {
      const job = await worker.queue.get(id);
      if (job === undefined) throw new Error(`job ${id} disappeared`);
      view.update(job);
      if (isFinished(job.status)) return job;
      if (!running) {
        // Another node holds it: watch at the pace it checkpoints.
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS * 4));
      } else {
        await Promise.race([work, new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS))]);
      }
    }
  } finally {
    view.stop();
    await work;
  }
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

try {
  await concordiaProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof ImportSourceError) {
    process.stderr.write(`concordia import: ${error.message}\n`);
  } else if (error instanceof FhirError) {
    process.stderr.write(`concordia: ${error.issues.map((issue) => issue.diagnostics).join('; ')}\n`);
  } else {
    process.stderr.write(
      `concordia: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exitCode = EXIT.failure;
}
