/**
 * `concordia blobs verify`: reads back and checks every encrypted blob (verify-blobs.ts), with the
 * progress on stderr and the report on stdout (text, or `--json` for monitoring). Exit status 0
 * when every blob verified, 1 when a problem was found, 2 on a usage or configuration error
 * (a wrong option, master keys that cannot be loaded) — so a scheduler can tell "the store is
 * damaged" from "the check could not run".
 */
import { readdir } from 'node:fs/promises';
import { type Command, type CommanderError, InvalidArgumentError } from 'commander';
import type { Config } from '../config.ts';
import type { OpenDatabase } from '../identity/identity-cli.ts';
import { verifyProgress } from '../ledger/verify-progress.ts';
import { filesystemBlobObjects } from './blob-objects.ts';
import { blobDirectory, masterKeyDirectory, masterKeys } from './blobs.ts';
import type { KeyProvider } from './key-provider.ts';
import { type BlobVerifyReport, DEFAULT_ORPHAN_MIN_AGE_MS, verifyBlobs } from './verify-blobs.ts';

const EXIT_PROBLEM = 1;
const EXIT_USAGE = 2;

export function registerBlobCommands(program: Command, open: OpenDatabase): void {
  const blobs = program
    .command('blobs')
    .description('The encrypted blob store (Binary.data and Attachment.data).')
    // Commander ends with status 1 on a usage error; here 1 means "a blob is damaged".
    .exitOverride((error: CommanderError) => {
      if (error.exitCode !== 0) process.exit(EXIT_USAGE);
      process.exit(0);
    });
  blobs
    .command('verify')
    .description(
      'Decrypt every blob (its row and object, its data key unwrapped by the master keys) and check its hash and size; ' +
        'list objects no row refers to. Exit status 1 when a blob fails.',
    )
    .option('--json', 'print the report as JSON instead of text')
    .option('--delete-orphans', 'delete the objects no row refers to (older than --orphan-min-age)')
    .option(
      '--orphan-min-age <minutes>',
      'objects without a row younger than this may be writes in progress: not reported, never deleted',
      nonNegativeInteger,
      DEFAULT_ORPHAN_MIN_AGE_MS / 60_000,
    )
    .option(
      '--unreferenced',
      'also list blobs no resource version refers to (reads every version that names a blob; not done by default)',
    )
    .addHelpText(
      'after',
      `
Problems, reported by blob hash:
  object-missing            the row's object is not in CONCORDIA_BLOB_DIR (a stray object of the same
                            hash or nonce is named: the row's hash or nonce column was altered)
  object-unreadable         the object exists but cannot be read (permissions, I/O error)
  master-key-missing        the master key id that wrapped the data key is not configured
  data-key-unwrap-failed    the master key is configured but the wrapped data key does not open
  authentication-failed     AES-GCM refuses: the ciphertext (row or object), nonce or hash was altered
  hash-mismatch             decrypts, but the content's SHA-256 is not the row's hash
  size-mismatch             decrypts, but the content's length is not the row's size
Information (exit status 0): orphan objects — left by a write that failed before its row was
committed; safe to delete (--delete-orphans). Master keys are read as the server reads them; with
key files, none is created when the directory is empty.
On PostgreSQL it can run beside the server: it changes nothing but the orphans --delete-orphans
removes, and spares young objects. The embedded database (PGlite) serves one process at a time:
stop "concordia serve" first.

Exit status: 0 every blob verified, 1 a problem was found, 2 usage or configuration error.

Examples:
  $ concordia blobs verify
  $ concordia blobs verify --json > blobs-report.json
  $ concordia blobs verify --delete-orphans --orphan-min-age 1440`,
    )
    .action(
      async (options: {
        json?: boolean;
        deleteOrphans?: boolean;
        orphanMinAge: number;
        unreferenced?: boolean;
      }) => {
        const { config, database } = await open();
        try {
          let keys: KeyProvider;
          try {
            keys = await verificationKeys(config);
          } catch (error) {
            process.stderr.write(
              `concordia blobs verify: the master keys cannot be loaded: ${error instanceof Error ? error.message : String(error)}\n`,
            );
            process.exitCode = EXIT_USAGE;
            return;
          }
          const report = await verifyBlobs(database, {
            objects: filesystemBlobObjects(blobDirectory(config)),
            keys,
            progress: verifyProgress(process.stderr, {
              command: 'blobs verify',
              unit: 'blobs',
              finished: 'checked; listing the objects',
            }),
            deleteOrphans: options.deleteOrphans === true,
            orphanMinAgeMs: options.orphanMinAge * 60_000,
            unreferenced: options.unreferenced === true,
          });
          process.stdout.write(
            options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatBlobVerifyReport(report),
          );
          process.exitCode = report.problems.length > 0 ? EXIT_PROBLEM : 0;
        } finally {
          await database.close();
        }
      },
    );
}

/**
 * The master keys as the server would load them, except that an empty key directory stays empty:
 * the server creates a first key there, a verification must not (every blob then reports the key
 * it misses).
 */
async function verificationKeys(config: Config): Promise<KeyProvider> {
  if (config.masterKey !== undefined) return masterKeys(config);
  const files = await readdir(masterKeyDirectory(config)).catch((error: unknown) => {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return [];
    throw error;
  });
  if (files.some((file) => file.endsWith('.key'))) return masterKeys(config);
  return {
    currentKeyId: '(none)',
    has: () => false,
    wrap: () => Promise.reject(new Error('no master key is configured')),
    unwrap: ({ keyId }) => Promise.reject(new Error(`master key ${keyId} is not configured`)),
  };
}

export function formatBlobVerifyReport(report: BlobVerifyReport): string {
  const lines = [
    `Checked ${report.blobsChecked} blobs (${report.inRow} in their row, ${report.inObjects} in objects; ` +
      `${report.bytesChecked} bytes decrypted) and ${report.objectsListed} objects.`,
  ];
  if (report.problems.length === 0)
    lines.push('Every blob verified: decrypted, authenticated, hash and size agree.');
  else lines.push(`${report.problems.length} blobs failed:`);
  for (const problem of report.problems) {
    lines.push(`  ${problem.kind.padEnd(24)} ${problem.hash}: ${problem.detail}`);
    if (problem.strayObject !== undefined)
      lines.push(
        `  ${''.padEnd(24)} an object ${problem.strayObject} has the same ${problem.strayObject.startsWith(problem.hash) ? 'hash' : 'nonce'}: the row was altered; keep it`,
      );
  }
  if (report.orphans.length > 0) {
    const deleted = report.orphans.filter((orphan) => orphan.deleted).length;
    lines.push(
      `${report.orphans.length} orphan objects (no row refers to them; safe to delete${deleted > 0 ? `, ${deleted} deleted` : ', --delete-orphans'}):`,
    );
    for (const orphan of report.orphans)
      lines.push(`  ${orphan.name} (${orphan.modifiedAt})${orphan.deleted ? ' deleted' : ''}`);
  }
  if (report.recentObjectsSkipped > 0)
    lines.push(
      `${report.recentObjectsSkipped} recent objects without a row not judged (writes in progress?): see --orphan-min-age.`,
    );
  if (report.unreferenced !== undefined) {
    lines.push(
      report.unreferenced.length === 0
        ? 'Every blob is referred to by a resource version.'
        : `${report.unreferenced.length} blobs no resource version refers to:`,
    );
    for (const hash of report.unreferenced) lines.push(`  ${hash}`);
  }
  return `${lines.join('\n')}\n`;
}

function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return parsed;
}
