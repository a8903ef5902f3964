/**
 * `concordia witness` against a real log door (through `app.inject`): it cosigns a log that only
 * grows, and refuses — with an alert and its state untouched — a log that forks or rewrites history,
 * even when the operator re-signs the rewritten tree with the node's own key.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/ledger/checkpoints.ts';
import { sequenceAll } from '../../src/ledger/sequencer.ts';
import { type WitnessHttp, witnessOnce } from '../../src/ledger/witness.ts';
import {
  formatWitnessPrivateKey,
  formatWitnessVerifierKey,
  generateWitnessKey,
  parseWitnessPrivateKey,
} from '../../src/ledger/witness-key.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { FHIR_JSON, patient } from '../support/test-app.ts';
import { createLedgerTestApp, type LedgerTestApp } from './ledger-test-app.ts';

const witnessKey = generateWitnessKey('witness.hospital-b.example/w1');

function injectHttp(test: LedgerTestApp): WitnessHttp {
  return async ({ method, url, body }) => {
    const answer = await test.app.inject({
      method,
      url: url.replace('http://fhir.test', ''),
      ...(body !== undefined ? { payload: body, headers: { 'content-type': 'text/plain' } } : {}),
    });
    return { status: answer.statusCode, body: answer.body };
  };
}

async function writePatients(test: LedgerTestApp, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const answer = await test.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: FHIR_JSON,
      payload: patient(),
    });
    expect(answer.statusCode, answer.body).toBe(201);
  }
  await test.ledger.integrate();
}

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
  let test: LedgerTestApp | undefined;
  let stateDir = '';
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'concordia-witness-'));
  });
  afterEach(async () => {
    await test?.close();
    test = undefined;
    await rm(stateDir, { recursive: true, force: true });
  });

  async function start(): Promise<LedgerTestApp> {
    test = await createLedgerTestApp(testDatabase, {
      CONCORDIA_LEDGER_WITNESSES: await formatWitnessVerifierKey(witnessKey),
    });
    return test;
  }

  const options = (t: LedgerTestApp) => ({
    logUrl: 'http://fhir.test',
    logKey: t.ledger.signer.verifierKey,
    key: witnessKey,
    stateDir,
    http: injectHttp(t),
  });

  it('keeps its key in the signed-note private key format', async () => {
    const text = await formatWitnessPrivateKey(witnessKey);
    expect(text).toMatch(/^PRIVATE\+KEY\+witness\.hospital-b\.example\/w1\+[0-9a-f]{8}\+/);
    const parsed = parseWitnessPrivateKey(text);
    expect(await formatWitnessVerifierKey(parsed)).toBe(await formatWitnessVerifierKey(witnessKey));
  });

  it('cosigns a growing log after checking consistency, and the node confirms the checkpoint', async () => {
    const t = await start();
    await writePatients(t, 2);
    const first = await witnessOnce(options(t));
    expect(first).toMatchObject({ kind: 'cosigned', accepted: true });
    await writePatients(t, 3);
    const second = await witnessOnce(options(t));
    expect(second).toMatchObject({ kind: 'cosigned', accepted: true });
    if (first.kind !== 'cosigned' || second.kind !== 'cosigned') throw new Error('not cosigned');
    expect(second.previousSize).toBe(first.treeSize);
    expect(second.treeSize).toBeGreaterThan(first.treeSize);
    const confirmed = await t.app.inject({ method: 'GET', url: '/ledger/checkpoint?confirmed' });
    expect(confirmed.body.split('\n')[1]).toBe(String(second.treeSize));
    expect(confirmed.body).toContain('— witness.hospital-b.example/w1 ');
  });

  it('refuses a rewritten history that the operator re-signed, and keeps its state', async () => {
    const t = await start();
    await writePatients(t, 3);
    expect(await witnessOnce(options(t))).toMatchObject({ kind: 'cosigned' });
    const files = await import('node:fs/promises').then((fs) => fs.readdir(stateDir));
    const stateFile = join(stateDir, files.find((file) => file.endsWith('.checkpoint')) ?? '');
    const before = await readFile(stateFile, 'utf8');
    await writePatients(t, 1);
    await rewriteHistoryAndResign(t);
    const outcome = await witnessOnce(options(t));
    expect(outcome).toMatchObject({ kind: 'alert' });
    expect(outcome.kind === 'alert' ? outcome.reason : '').toMatch(/not an extension/);
    expect(await readFile(stateFile, 'utf8')).toBe(before);
    // Nothing was cosigned after the rewrite.
    expect((await t.app.inject({ method: 'GET', url: '/ledger/checkpoint?confirmed' })).statusCode).toBe(404);
  });

  it('refuses a fork: another root for a tree size it already saw', async () => {
    const t = await start();
    await writePatients(t, 3);
    expect(await witnessOnce(options(t))).toMatchObject({ kind: 'cosigned' });
    await rewriteHistoryAndResign(t);
    const outcome = await witnessOnce(options(t));
    expect(outcome).toMatchObject({ kind: 'alert' });
    expect(outcome.kind === 'alert' ? outcome.reason : '').toMatch(/fork/);
  });

  it('refuses a checkpoint that the configured log key did not sign', async () => {
    const t = await start();
    await writePatients(t, 1);
    const other = generateWitnessKey('fhir.test/ledger');
    const outcome = await witnessOnce({
      ...options(t),
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
