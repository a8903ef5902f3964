/**
 * `concordia ledger sequence|verify|key|rotate-key` (the node's own log) and `concordia witness` (a member
 * institution checking and cosigning another node's log). See docs/audit-and-ledger.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { formatVerifierKey, parseVerifierKey } from '@concordia/fhir';
import type { Command } from 'commander';
import type { Config } from '../config.ts';
import { loadIdentityKey } from '../identity/secret-box.ts';
import type { Database } from '../store/database.ts';
import { signCheckpoint } from './checkpoints.ts';
import { rotateLedgerKey } from './key-rotation.ts';
import { type LedgerVerifyReport, verifyLedger } from './ledger-verify.ts';
import { ensureLedgerSigner } from './node-key.ts';
import { sequenceAll } from './sequencer.ts';
import { verifyProgress } from './verify-progress.ts';
import { witnessOnce } from './witness.ts';
import {
  formatWitnessPrivateKey,
  formatWitnessVerifierKey,
  generateWitnessKey,
  parseWitnessPrivateKey,
} from './witness-key.ts';

export type OpenDatabase = () => Promise<{ config: Config; database: Database }>;

/** Exit status of a witness round that found the log misbehaving (distinct from a plain failure). */
export const WITNESS_ALERT_EXIT = 3;

export function registerLedgerCommands(program: Command, open: OpenDatabase): void {
  const withLedger = async (work: (database: Database, config: Config) => Promise<void>): Promise<void> => {
    const { config, database } = await open();
    try {
      await work(database, config);
    } finally {
      await database.close();
    }
  };
  const boxOf = async (config: Config) => (await loadIdentityKey(config.identityKey, config.dataDir)).box;
  const signerOf = async (database: Database, config: Config) =>
    ensureLedgerSigner(database, await boxOf(config), config.ledger.origin);

  const ledger = program
    .command('ledger')
    .description('The tamper-evident ledger of this node (RFC 9162 Merkle log).');
  ledger
    .command('sequence')
    .description(
      'Place every committed ledger entry in the tree and sign a checkpoint (the server does this every second).',
    )
    .action(() =>
      withLedger(async (database, config) => {
        const signer = await signerOf(database, config);
        const batch = await sequenceAll(database, config.ledger.batchSize);
        const checkpoint = await signCheckpoint(database, signer);
        if (batch === undefined)
          process.stderr.write('another sequencer holds the lock; signed what it has placed so far\n');
        process.stdout.write(
          `Sequenced ${batch?.sequenced ?? 0} entries; tree size ${checkpoint?.treeSize ?? 0}${checkpoint !== undefined ? `, root ${Buffer.from(checkpoint.rootHash).toString('base64')}` : ''}\n`,
        );
      }),
    );
  ledger
    .command('verify')
    .description(
      'Recompute every leaf from resource_history, audit_event and access-log rows, rebuild the tree, compare it with the stored ' +
        'entries and the signed checkpoints, and report every difference. Exit status 1 when anything differs.',
    )
    .action(() =>
      withLedger(async (database, config) => {
        const report = await verifyLedger(database, {
          signer: await signerOf(database, config),
          progress: verifyProgress(process.stderr),
        });
        process.stdout.write(formatVerifyReport(report));
        if (report.findings.length > 0) process.exitCode = 1;
      }),
    );
  ledger
    .command('key')
    .description("Print this log's verifier key, for witnesses and clients to configure.")
    .action(() =>
      withLedger(async (database, config) => {
        process.stdout.write(`${await formatVerifierKey((await signerOf(database, config)).verifierKey)}\n`);
      }),
    );
  ledger
    .command('rotate-key')
    .description(
      'Retire the node key and sign with a new one, in the same log: the new key is announced in a key-transition note ' +
        'signed by the old key and the new one (GET /ledger/key-transitions), which witnesses follow.',
    )
    .action(() =>
      withLedger(async (database, config) => {
        const box = await boxOf(config);
        // Everything committed so far is signed by the old key first: the transition is made at the
        // latest checkpoint, and the old key signs nothing after it.
        await sequenceAll(database, config.ledger.batchSize);
        await signCheckpoint(database, await ensureLedgerSigner(database, box, config.ledger.origin));
        const rotation = await rotateLedgerKey(database, box, config.ledger.origin);
        process.stdout.write(
          `Rotated the ledger key at tree size ${rotation.transition.checkpoint.treeSize}.\n` +
            `  retired (key ${rotation.retired.keyNumber}): ${await formatVerifierKey(rotation.retired.verifierKey)}\n` +
            `  current (key ${rotation.current.keyNumber}): ${await formatVerifierKey(rotation.current.verifierKey)}\n` +
            'Running servers sign with the new key from their next sequencing round. Witnesses follow the\n' +
            'transition by themselves; give the new key to clients that verify inclusion proofs.\n',
        );
      }),
    );

  const witness = program
    .command('witness')
    .description(
      "Check another Concordia node's log for consistency with what this witness saw before, then cosign its checkpoint.",
    )
    .option('--log <url>', "the log's base URL (https://hie.example.org)")
    .option(
      '--log-key <vkey>',
      "the log's verifier key (`concordia ledger key` on the log's node), or a file holding it",
    )
    .option('--key <file>', "this witness's private key file (`concordia witness keygen`)")
    .option('--state <dir>', 'where this witness keeps the last checkpoint it accepted from each log')
    .addHelpText(
      'after',
      `
Run it from a scheduler (every minute, say). Exit status: 0 cosigned, 1 failure (network, bad
arguments), ${WITNESS_ALERT_EXIT} ALERT — the log forked, shrank, rewrote history or signed with a key that no
key transition from the trusted key announces: nothing was cosigned. --log-key is the key trusted
at first; after the log rotates its key, the state directory keeps the key it moved to.

Examples:
  $ concordia witness keygen --name witness.hospital-b.example/w1 --out witness.key
  $ concordia witness --log https://hie.example.org --log-key "$(cat log.vkey)" --key witness.key --state /var/lib/concordia-witness`,
    )
    .action(async (options: { log?: string; logKey?: string; key?: string; state?: string }) => {
      const { log, logKey, key, state } = options;
      if (log === undefined || logKey === undefined || key === undefined || state === undefined) {
        witness.error('concordia witness needs --log, --log-key, --key and --state');
        return;
      }
      const outcome = await witnessOnce({
        logUrl: log,
        logKey: await parseVerifierKey(await fileOrText(logKey)),
        key: parseWitnessPrivateKey(await readFile(key, 'utf8')),
        stateDir: state,
        http: async ({ method, url, body }) => {
          const answer = await fetch(url, {
            method,
            ...(body !== undefined ? { body, headers: { 'content-type': 'text/plain; charset=utf-8' } } : {}),
          });
          return { status: answer.status, body: await answer.text() };
        },
      });
      if (outcome.kind === 'cosigned') {
        for (const logKey of outcome.newLogKeys ?? [])
          process.stdout.write(
            `The log rotated its key through a transition signed by the trusted key; now trusting ${logKey}\n`,
          );
        process.stdout.write(
          `Cosigned tree size ${outcome.treeSize}${outcome.previousSize !== undefined ? ` (consistent with ${outcome.previousSize})` : ' (first checkpoint seen)'}; ` +
            `the log ${outcome.accepted ? 'accepted' : `refused`} the cosignature: ${outcome.answer}\n`,
        );
        if (!outcome.accepted) process.exitCode = 1;
      } else if (outcome.kind === 'alert') {
        process.stderr.write(`ALERT: ${log}: ${outcome.reason}. Nothing was cosigned.\n`);
        process.exitCode = WITNESS_ALERT_EXIT;
      } else {
        process.stderr.write(`concordia witness: ${outcome.reason}\n`);
        process.exitCode = 1;
      }
    });
  witness
    .command('keygen')
    .description(
      'Create a witness key file and print its verifier key for the log operator (CONCORDIA_LEDGER_WITNESSES).',
    )
    .requiredOption('--name <name>', 'the witness name, a schema-less URL (witness.hospital-b.example/w1)')
    .requiredOption('--out <file>', 'where to write the private key (mode 0600; refuses to overwrite)')
    .action(async (options: { name: string; out: string }) => {
      const key = generateWitnessKey(options.name);
      await writeFile(options.out, await formatWitnessPrivateKey(key), { mode: 0o600, flag: 'wx' });
      process.stdout.write(`${await formatWitnessVerifierKey(key)}\n`);
    });
}

async function fileOrText(value: string): Promise<string> {
  if (value.includes('+')) return value;
  return readFile(value, 'utf8');
}

export function formatVerifyReport(report: LedgerVerifyReport): string {
  const lines = [
    `Checked ${report.leavesChecked} leaves, ${report.checkpointsChecked} signed checkpoints and ${report.pendingEntries} entries not yet sequenced.`,
  ];
  if (report.findings.length === 0)
    lines.push('No differences: every row, entry, leaf, subtree and signed root agrees.');
  else lines.push(`${report.findings.length} differences:`);
  for (const finding of report.findings) {
    const where = [
      finding.leafIndex !== undefined ? `leaf ${finding.leafIndex}` : undefined,
      finding.reference,
    ]
      .filter((part) => part !== undefined)
      .join(' ');
    lines.push(`  ${finding.kind.padEnd(24)} ${where}${where === '' ? '' : ': '}${finding.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
