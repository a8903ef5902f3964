/**
 * The ledger as the server runs it: the node's signer, the configured witnesses, and the
 * background loop that sequences committed entries and signs a checkpoint whenever the tree grew.
 */
import { type NoteVerifierKey, parseVerifierKey } from '@concordia/fhir';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config.ts';
import type { SecretBox } from '../identity/secret-box.ts';
import type { Database } from '../store/database.ts';
import { LedgerKeyRotated, type StoredCheckpoint, signCheckpoint } from './checkpoints.ts';
import { currentLedgerKeyNumber, ensureLedgerSigner, type NodeKeySigner } from './node-key.ts';
import { sequenceAll } from './sequencer.ts';

export interface Ledger {
  db: Database;
  /** The signer of the current node key; replaced when a key rotation is seen. */
  readonly signer: NodeKeySigner;
  witnesses: NoteVerifierKey[];
  quorum: number;
  /** One round: sequence every committed entry, then sign the grown tree. */
  integrate(): Promise<StoredCheckpoint | undefined>;
  /** Runs `integrate` every `sequenceIntervalMs` until `stop`. */
  start(): void;
  stop(): Promise<void>;
}

export async function createLedger(options: {
  db: Database;
  config: LedgerConfig;
  box: SecretBox;
  logger: Logger;
}): Promise<Ledger> {
  const { db, config, logger } = options;
  let signer = await ensureLedgerSigner(db, options.box, config.origin);
  const witnesses: NoteVerifierKey[] = [];
  for (const text of config.witnessKeys) {
    const key = await parseVerifierKey(text);
    if (key.type !== 0x04) throw new Error(`Witness key ${key.name} is not a cosignature (type 0x04) key`);
    witnesses.push(key);
  }
  const reloadSigner = async (): Promise<void> => {
    signer = await ensureLedgerSigner(db, options.box, config.origin);
    logger.info({ keyNumber: signer.keyNumber }, 'the ledger key was rotated; signing with the new key');
  };
  const integrate = async (): Promise<StoredCheckpoint | undefined> => {
    await sequenceAll(db, config.batchSize);
    // `concordia ledger rotate-key` ran elsewhere (the CLI, another node): sign with the new key.
    if ((await currentLedgerKeyNumber(db)) !== signer.keyNumber) await reloadSigner();
    try {
      return await signCheckpoint(db, signer);
    } catch (error) {
      if (!(error instanceof LedgerKeyRotated)) throw error;
      await reloadSigner();
      return signCheckpoint(db, signer);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = (): void => {
    running = integrate()
      .then(
        () => undefined,
        (error: unknown) =>
          logger.error({ err: error }, 'ledger sequencing failed; retrying at the next interval'),
      )
      .finally(() => {
        if (!stopped) schedule();
      });
  };
  // unref: a pending round never keeps the process alive; `stop` waits for one in flight.
  const schedule = (): void => {
    timer = setTimeout(tick, config.sequenceIntervalMs);
    timer.unref();
  };
  return {
    db,
    get signer() {
      return signer;
    },
    witnesses,
    quorum: config.quorum,
    integrate,
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
