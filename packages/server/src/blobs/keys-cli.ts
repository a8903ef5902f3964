/**
 * `concordia keys rotate-master`: makes a new master key current and re-wraps every blob's data
 * key with it (rotate-master-key.ts), leaving the encrypted blobs untouched. With key files (the
 * default) it creates the new key itself and deletes the old one once no data key needs it; with
 * `CONCORDIA_MASTER_KEY` the operator sets the new key there and the old one in
 * `CONCORDIA_MASTER_KEY_PREVIOUS`, and removes the old one after the command reports success.
 * Added to the `keys` command group that the identity commands create.
 */
import type { Command } from 'commander';
import type { OpenDatabase } from '../identity/identity-cli.ts';
import { masterKeyDirectory, masterKeys } from './blobs.ts';
import { addMasterKey, removeUnusedMasterKeys } from './master-key-files.ts';
import { rewrapDataKeys } from './rotate-master-key.ts';

export function registerMasterKeyCommands(program: Command, open: OpenDatabase): void {
  const keys =
    program.commands.find((command) => command.name() === 'keys') ??
    program.command('keys').description('Signing and encryption keys (rotation).');
  keys
    .command('rotate-master')
    .description(
      'Make a new blob master key current and re-wrap every data key with it, without rewriting blob data.',
    )
    .addHelpText(
      'after',
      `
With key files (CONCORDIA_MASTER_KEY unset) a new key is written to CONCORDIA_MASTER_KEY_DIR
(default <data dir>/master-keys) and the old one is deleted when no data key uses it any more.
With CONCORDIA_MASTER_KEY, put the new key there and the old one in CONCORDIA_MASTER_KEY_PREVIOUS,
run this, and drop CONCORDIA_MASTER_KEY_PREVIOUS once it reports that only the new key is in use.
Interrupted? Run it again: rows already re-wrapped are skipped.`,
    )
    .action(async () => {
      const { config, database } = await open();
      try {
        const fromFiles = config.masterKey === undefined;
        if (fromFiles) await addMasterKey(masterKeyDirectory(config));
        const provider = await masterKeys(config);
        const report = await rewrapDataKeys(database, provider, {
          onProgress: (count) => process.stderr.write(`re-wrapped ${count} data keys\r`),
        });
        const removed = fromFiles
          ? await removeUnusedMasterKeys(masterKeyDirectory(config), new Set(report.keyIdsInUse))
          : [];
        process.stdout.write(
          `Master key ${provider.currentKeyId} is current; re-wrapped ${report.rewrapped} data keys.\n` +
            `Master keys in use: ${report.keyIdsInUse.join(', ') || '(no blobs yet)'}\n` +
            (removed.length > 0 ? `Deleted the old master key files: ${removed.join(', ')}\n` : ''),
        );
      } finally {
        await database.close();
      }
    });
}
