/**
 * `concordia witness` against a real log door (through `app.inject`): it cosigns a log that only
 * grows, and refuses — with an alert and its state untouched — a log that forks or rewrites history,
 * even when the operator re-signs the rewritten tree with the node's own key.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/ledger/checkpoints.ts';
import { sequenceAll } from '../../src/ledger/sequencer.ts';
import { witnessOnce } from '../../src/ledger/witness.ts';
import {
  formatWitnessPrivateKey,
  formatWitnessVerifierKey,
  generateWitnessKey,
  parseWitnessPrivateKey,
} from '../../src/ledger/witness-key.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { type LedgerTestApp, testWitnessKey, witnessTestRun, writePatients } from './ledger-test-app.ts';

/** What an operator with database access and the node key could do: rewrite a leaf, rebuild, re-sign. */
async function rewriteHistoryAndResign(test: LedgerTestApp): Promise<void> {
  const db = test.database;
  await db.query(sql`update ledger_leaf set content_sha256 = sha256(content_sha256) where leaf_index = 0`);
  await db.query(sql`delete from ledger_node`);
  await db.query(sql`delete from ledger_cosignature`);
  await db.query(sql`delete from ledger_checkpoint`);
  await db.query(
    sql`insert into ledger_entry (kind, reference, content_sha256, recorded_at)
          select kind, reference, content_sha256, recorded_at from ledger_leaf order by leaf_index`,
  );
  await db.query(sql`delete from ledger_leaf`);
  await sequenceAll(db, 1000);
  await signCheckpoint(db, test.ledger.signer);
}

describe.each(testDatabases())('witness on $name', (testDatabase) => {
  const run = witnessTestRun(testDatabase);

  it('keeps its key in the signed-note private key format', async () => {
    const text = await formatWitnessPrivateKey(testWitnessKey);
    expect(text).toMatch(/^PRIVATE\+KEY\+witness\.hospital-b\.example\/w1\+[0-9a-f]{8}\+/);
    const parsed = parseWitnessPrivateKey(text);
    expect(await formatWitnessVerifierKey(parsed)).toBe(await formatWitnessVerifierKey(testWitnessKey));
  });

  it('cosigns a growing log after checking consistency, and the node confirms the checkpoint', async () => {
    const t = await run.start();
    await writePatients(t, 2);
    const first = await witnessOnce(run.options(t));
    expect(first).toMatchObject({ kind: 'cosigned', accepted: true });
    await writePatients(t, 3);
    const second = await witnessOnce(run.options(t));
    expect(second).toMatchObject({ kind: 'cosigned', accepted: true });
    if (first.kind !== 'cosigned' || second.kind !== 'cosigned') throw new Error('not cosigned');
    expect(second.previousSize).toBe(first.treeSize);
    expect(second.treeSize).toBeGreaterThan(first.treeSize);
    const confirmed = await t.app.inject({ method: 'GET', url: '/ledger/checkpoint?confirmed' });
    expect(confirmed.body.split('\n')[1]).toBe(String(second.treeSize));
    expect(confirmed.body).toContain('— witness.hospital-b.example/w1 ');
  });

  it('refuses a rewritten history that the operator re-signed, and keeps its state', async () => {
    const t = await run.start();
    await writePatients(t, 3);
    expect(await witnessOnce(run.options(t))).toMatchObject({ kind: 'cosigned' });
    const files = await import('node:fs/promises').then((fs) => fs.readdir(run.stateDir));
    const stateFile = join(run.stateDir, files.find((file) => file.endsWith('.checkpoint')) ?? '');
    const before = await readFile(stateFile, 'utf8');
    await writePatients(t, 1);
    await rewriteHistoryAndResign(t);
    const outcome = await witnessOnce(run.options(t));
    expect(outcome).toMatchObject({ kind: 'alert' });
    expect(outcome.kind === 'alert' ? outcome.reason : '').toMatch(/not an extension/);
    expect(await readFile(stateFile, 'utf8')).toBe(before);
    // Nothing was cosigned after the rewrite.
    expect((await t.app.inject({ method: 'GET', url: '/ledger/checkpoint?confirmed' })).statusCode).toBe(404);
  });

  it('refuses a fork: another root for a tree size it already saw', async () => {
    const t = await run.start();
    await writePatients(t, 3);
    expect(await witnessOnce(run.options(t))).toMatchObject({ kind: 'cosigned' });
    await rewriteHistoryAndResign(t);
    const outcome = await witnessOnce(run.options(t));
    expect(outcome).toMatchObject({ kind: 'alert' });
    expect(outcome.kind === 'alert' ? outcome.reason : '').toMatch(/fork/);
  });

  it('refuses a checkpoint that the configured log key did not sign', async () => {
    const t = await run.start();
    await writePatients(t, 1);
    const other = generateWitnessKey('fhir.test/ledger');
    const outcome = await witnessOnce({
      ...run.options(t),
      logKey: {
        name: 'fhir.test/ledger',
        publicKey: (await import('../../src/ledger/node-key.ts')).rawEd25519PublicKey(other.privateKey),
        type: 1,
      },
    });
    expect(outcome).toMatchObject({ kind: 'alert' });
    expect(outcome.kind === 'alert' ? outcome.reason : '').toMatch(
      /^the checkpoint is not signed by the configured log key/,
    );
  });
});
