/**
 * Rotating the node key without starting a new log (key-rotation.ts): a witness follows a
 * key-transition note signed by the key it trusts and then trusts only the new key; it refuses a
 * checkpoint signed by a key no such note announces, and one signed by the retired key after the
 * transition. `ledger verify` checks every checkpoint under the key of its era.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  formatCheckpointBody,
  formatVerifierKey,
  parseSignedNote,
  verifyNoteSignature,
} from '@concordia/fhir';
import { describe, expect, it } from 'vitest';
import { latestCheckpoint } from '../../src/ledger/checkpoints.ts';
import { KEY_TRANSITION_EXTENSION, rotateLedgerKey } from '../../src/ledger/key-rotation.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { ed25519Signer, generateNodeKey, storeNodeKey } from '../../src/ledger/node-key.ts';
import { rootHash, sequencedTreeSize } from '../../src/ledger/tree-nodes.ts';
import { type WitnessOutcome, witnessOnce } from '../../src/ledger/witness.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { witnessTestRun, writePatients } from './ledger-test-app.ts';

function reasonOf(outcome: WitnessOutcome): string {
  return outcome.kind === 'cosigned' ? '' : outcome.reason;
}

describe.each(testDatabases())('node key rotation on $name', (testDatabase) => {
  const run = witnessTestRun(testDatabase);

  async function stateFiles(): Promise<Record<string, string>> {
    const { readdir } = await import('node:fs/promises');
    const files: Record<string, string> = {};
    for (const file of await readdir(run.stateDir))
      files[file] = await readFile(join(run.stateDir, file), 'utf8');
    return files;
  }

  it('announces the new key in a note signed by the old and the new key, at the latest checkpoint', async () => {
    const t = await run.start();
    await writePatients(t, 2);
    const before = await latestCheckpoint(t.database);
    if (before === undefined) throw new Error('no checkpoint');
    const oldKey = t.ledger.signer.verifierKey;
    const rotation = await rotateLedgerKey(t.database, t.box, oldKey.name);

    const note = parseSignedNote(rotation.note);
    const [origin, size, root, extension] = note.body.split('\n');
    expect([origin, size, root]).toEqual(formatCheckpointBody(before).split('\n').slice(0, 3));
    expect(extension).toBe(
      `${KEY_TRANSITION_EXTENSION} ${await formatVerifierKey(oldKey)} ${await formatVerifierKey(rotation.current.verifierKey)}`,
    );
    expect(await verifyNoteSignature(note, oldKey)).toBeDefined();
    expect(await verifyNoteSignature(note, rotation.current.verifierKey)).toBeDefined();
    expect(rotation.current.verifierKey.name).toBe(oldKey.name);

    // The server signs with the new key from its next round, and serves the transition.
    await writePatients(t, 1);
    expect(t.ledger.signer.keyNumber).toBe(2);
    const key = await t.app.inject({ method: 'GET', url: '/ledger/key' });
    expect(key.body.trim()).toBe(await formatVerifierKey(rotation.current.verifierKey));
    const transitions = await t.app.inject({ method: 'GET', url: '/ledger/key-transitions' });
    expect(transitions.json()).toEqual({ transitions: [rotation.note] });
    const latest = parseSignedNote((await t.app.inject({ method: 'GET', url: '/ledger/checkpoint' })).body);
    expect(await verifyNoteSignature(latest, rotation.current.verifierKey)).toBeDefined();
    expect(await verifyNoteSignature(latest, oldKey)).toBeUndefined();
  });

  it('a witness follows a rotation signed by the key it trusts, then trusts the new key only', async () => {
    const t = await run.start();
    const options = run.options(t);
    await writePatients(t, 2);
    expect(await witnessOnce(options)).toMatchObject({ kind: 'cosigned', accepted: true });
    // The log grows after the witness's last look, then rotates, then grows again.
    await writePatients(t, 2);
    const rotation = await rotateLedgerKey(t.database, t.box, options.logKey.name);
    await writePatients(t, 2);

    const followed = await witnessOnce(options);
    expect(followed).toMatchObject({
      kind: 'cosigned',
      accepted: true,
      newLogKeys: [await formatVerifierKey(rotation.current.verifierKey)],
    });
    const confirmed = await t.app.inject({ method: 'GET', url: '/ledger/checkpoint?confirmed' });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('— witness.hospital-b.example/w1 ');
    const state = await stateFiles();
    expect(state['fhir.test_ledger.vkey']?.trim()).toBe(
      await formatVerifierKey(rotation.current.verifierKey),
    );

    // Later rounds need no transition.
    await writePatients(t, 1);
    const next = await witnessOnce(options);
    expect(next).toMatchObject({ kind: 'cosigned', accepted: true });
    expect(next.kind === 'cosigned' ? next.newLogKeys : ['?']).toBeUndefined();

    // The retired key signs a larger tree (it leaked, or the operator kept it): refused.
    await writePatients(t, 1);
    const size = await sequencedTreeSize(t.database);
    await t.database.query(sql`delete from ledger_checkpoint where tree_size = ${size}`);
    const body = formatCheckpointBody({
      origin: options.logKey.name,
      treeSize: size,
      rootHash: await rootHash(t.database, size),
    });
    const root = (await rootHash(t.database, size)).toString('hex');
    const forged = `${body}\n${await rotation.retired.signatureLine(body)}`;
    await t.database.query(
      sql`insert into ledger_checkpoint (tree_size, root_hash, note) values (${size}, decode(${root}, 'hex'), ${forged})`,
    );
    const before = await stateFiles();
    const refused = await witnessOnce(options);
    expect(refused).toMatchObject({ kind: 'alert' });
    expect(reasonOf(refused)).toMatch(/not signed by the log key this witness trusts/);
    expect(await stateFiles()).toEqual(before);
  });

  it('a witness that first looks after the rotation follows the chain from its configured key', async () => {
    const t = await run.start();
    const logKey = t.ledger.signer.verifierKey;
    await writePatients(t, 2);
    await rotateLedgerKey(t.database, t.box, logKey.name);
    await writePatients(t, 1);
    await rotateLedgerKey(t.database, t.box, logKey.name);
    await writePatients(t, 1);
    const outcome = await witnessOnce({ ...run.options(t), logKey });
    expect(outcome).toMatchObject({ kind: 'cosigned', accepted: true });
    expect(outcome.kind === 'cosigned' ? outcome.newLogKeys : []).toEqual([
      expect.stringMatching(/^fhir\.test\/ledger\+/),
      await formatVerifierKey(t.ledger.signer.verifierKey),
    ]);
  });

  it('a rotation before the first leaf is made at the empty tree, which every tree extends', async () => {
    const t = await run.start();
    const logKey = t.ledger.signer.verifierKey;
    const rotation = await rotateLedgerKey(t.database, t.box, logKey.name);
    expect(rotation.transition.checkpoint.treeSize).toBe(0);
    await writePatients(t, 2);
    const outcome = await witnessOnce({ ...run.options(t), logKey });
    expect(outcome).toMatchObject({ kind: 'cosigned', accepted: true });
    expect((await verifyLedger(t.database, { signer: t.ledger.signer })).findings).toEqual([]);
  });

  it('refuses a checkpoint signed by a key that no transition signed by the trusted key announces', async () => {
    const t = await run.start();
    const options = run.options(t);
    await writePatients(t, 2);
    expect(await witnessOnce(options)).toMatchObject({ kind: 'cosigned' });
    const before = await stateFiles();

    // An operator without the old key installs a new one, and forges a transition note that the
    // new key signs, with a stand-in "old" signature by a key of the same name.
    const impostor = generateNodeKey();
    await storeNodeKey(t.database, t.box, 2, impostor);
    const announced = ed25519Signer(options.logKey.name, impostor, 1);
    const standIn = ed25519Signer(options.logKey.name, generateKeyPairSync('ed25519').privateKey, 1);
    const latest = await latestCheckpoint(t.database);
    if (latest === undefined) throw new Error('no checkpoint');
    const body = `${formatCheckpointBody(latest)}${KEY_TRANSITION_EXTENSION} ${await formatVerifierKey(options.logKey)} ${await formatVerifierKey(announced.verifierKey)}\n`;
    await t.database.query(
      sql`insert into ledger_key_transition (key_id, tree_size, note)
          values (2, ${latest.treeSize}, ${`${body}\n${await standIn.signatureLine(body)}${await announced.signatureLine(body)}`})`,
    );
    await writePatients(t, 1);
    expect(t.ledger.signer.keyNumber).toBe(2);

    const outcome = await witnessOnce(options);
    expect(outcome).toMatchObject({ kind: 'alert' });
    expect(reasonOf(outcome)).toMatch(
      /not signed by the configured log key, nor by a key that a key transition/,
    );
    expect(await stateFiles()).toEqual(before);
    expect((await t.app.inject({ method: 'GET', url: '/ledger/checkpoint?confirmed' })).body).not.toContain(
      `\n${(await latestCheckpoint(t.database))?.treeSize}\n`,
    );

    // `ledger verify` names the same problem.
    const report = await verifyLedger(t.database, { signer: t.ledger.signer });
    expect(report.findings.map((finding) => finding.kind)).toContain('bad-key-transition');
    expect(report.findings.map((finding) => finding.kind)).toContain('bad-checkpoint-signature');
  });

  it('ledger verify accepts every checkpoint under the key of its era, and detects an altered transition', async () => {
    const t = await run.start();
    await writePatients(t, 2);
    await rotateLedgerKey(t.database, t.box, t.ledger.signer.verifierKey.name);
    await writePatients(t, 2);
    await rotateLedgerKey(t.database, t.box, t.ledger.signer.verifierKey.name);
    await writePatients(t, 1);
    const clean = await verifyLedger(t.database, { signer: t.ledger.signer });
    expect(clean.findings).toEqual([]);
    expect(clean.checkpointsChecked).toBeGreaterThanOrEqual(5);

    // An edited transition no longer verifies under key 1, so key 2 (and all it signed) is unannounced.
    await t.database.query(
      sql`update ledger_key_transition set note = replace(note, 'concordia/key-transition', 'concordia/key-transitioN')
          where key_id = 2`,
    );
    const altered = await verifyLedger(t.database, { signer: t.ledger.signer });
    expect(altered.findings.map((finding) => [finding.kind, finding.reference])).toContainEqual([
      'bad-key-transition',
      'LedgerKey/2',
    ]);
  });
});
