/**
 * `ledger verify` locates tampering done directly in SQL, by someone who bypasses the application:
 * each case alters one thing and the report must name exactly that thing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerEntriesSql } from '../../src/ledger/ledger-entries.ts';
import { type LedgerFinding, verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { STORED_NODE_MIN_LEVEL, sequencedTreeSize } from '../../src/ledger/tree-nodes.ts';
import type { Database } from '../../src/store/database.ts';
import { readNumber, readString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { FHIR_JSON, json, patient } from '../support/test-app.ts';
import { createLedgerTestApp, type LedgerTestApp, writePatients } from './ledger-test-app.ts';

interface Written {
  ids: string[];
}

async function writeHistory(test: LedgerTestApp): Promise<Written> {
  const ids: string[] = [];
  for (const family of ['Kovalenko', 'Melnyk', 'Tkachenko']) {
    const created = await test.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: FHIR_JSON,
      payload: patient({ family }),
    });
    expect(created.statusCode).toBe(201);
    ids.push(String(json(created.body).id));
  }
  const [first, second] = ids as [string, string];
  await test.app.inject({
    method: 'PUT',
    url: `/fhir/Patient/${first}`,
    headers: FHIR_JSON,
    payload: { ...patient({ family: 'Shevchenko' }), id: first },
  });
  await test.app.inject({ method: 'DELETE', url: `/fhir/Patient/${second}` });
  await test.ledger.integrate();
  // Past two blocks of 2^STORED_NODE_MIN_LEVEL leaves: the history above lies in the first one,
  // under stored level-4 and level-5 subtrees, and a few leaves lie after the last complete block.
  const block = 2 ** STORED_NODE_MIN_LEVEL;
  for (
    let size = await sequencedTreeSize(test.database);
    size < 2 * block + 3 || size % block === 0;
    size = await sequencedTreeSize(test.database)
  )
    await writePatients(test, 4);
  return { ids };
}

function summary(findings: readonly LedgerFinding[]): string[] {
  return findings
    .map((finding) =>
      [finding.kind, finding.reference, finding.leafIndex === undefined ? undefined : `@${finding.leafIndex}`]
        .filter((part) => part !== undefined)
        .join(' '),
    )
    .sort();
}

async function leafIndexOf(db: Database, reference: string): Promise<number> {
  const [row] = await db.query(sql`select leaf_index from ledger_leaf where reference = ${reference}`);
  if (row === undefined) throw new Error(`no entry for ${reference}`);
  return readNumber(row, 'leaf_index');
}

describe.each(testDatabases())('ledger verify on $name', (testDatabase) => {
  let test: LedgerTestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  async function setUp(): Promise<{
    t: LedgerTestApp;
    db: Database;
    ids: string[];
    verify: () => Promise<string[]>;
  }> {
    test = await createLedgerTestApp(testDatabase);
    const t = test;
    const { ids } = await writeHistory(t);
    const verify = async () =>
      summary((await verifyLedger(t.database, { signer: t.ledger.signer, pageSize: 3 })).findings);
    return { t, db: t.database, ids, verify };
  }

  it('finds nothing in an untouched ledger, and checks every signed checkpoint', async () => {
    const { t, verify } = await setUp();
    expect(await verify()).toEqual([]);
    const report = await verifyLedger(t.database, { signer: t.ledger.signer });
    expect(report.treeSize).toBeGreaterThanOrEqual(5);
    const [signed] = await t.database.query(sql`select count(*)::int as checkpoints from ledger_checkpoint`);
    expect(report.checkpointsChecked).toBe(readNumber(signed ?? {}, 'checkpoints'));
    expect(report.checkpointsChecked).toBeGreaterThan(1);
  });

  it('locates content altered in resource_history', async () => {
    const { db, ids, verify } = await setUp();
    const [id] = ids as [string];
    await db.query(
      sql`update resource_history set content = replace(content, 'Kovalenko', 'Kovalenka') where id = ${id} and version_id = 1`,
    );
    const index = await leafIndexOf(db, `Patient/${id}/_history/1`);
    expect(await verify()).toEqual([`altered-content Patient/${id}/_history/1 @${index}`]);
  });

  it('locates a deleted history row, a tombstone whose facts were changed, an inserted row, and the current rows they contradict', async () => {
    const { db, ids, verify } = await setUp();
    const [first, second, third] = ids as [string, string, string];
    await db.query(sql`delete from resource_history where id = ${third} and version_id = 1`);
    await db.query(
      sql`update resource_history set last_updated = last_updated - interval '1 day' where id = ${second} and version_id = 2`,
    );
    await db.query(
      sql`insert into resource_history (resource_type, id, version_id, last_updated, method, deleted, content)
          select resource_type, id, 9, last_updated, 'PUT', false, content from resource_history where id = ${first} and version_id = 2`,
    );
    expect(await verify()).toEqual(
      [
        `missing-row Patient/${third}/_history/1 @${await leafIndexOf(db, `Patient/${third}/_history/1`)}`,
        `altered-content Patient/${second}/_history/2 @${await leafIndexOf(db, `Patient/${second}/_history/2`)}`,
        `unrecorded-row Patient/${first}/_history/9`,
        // The current rows no longer match the latest history rows: gone, changed, overtaken.
        `altered-current Patient/${third}/_history/1`,
        `altered-current Patient/${second}/_history/2`,
        `altered-current Patient/${first}/_history/2`,
      ].sort(),
    );
  });

  it('locates an altered ledger entry hash', async () => {
    const { db, ids, verify } = await setUp();
    const [first] = ids as [string];
    const a = await leafIndexOf(db, `Patient/${first}/_history/1`);
    await db.query(
      sql`update ledger_leaf set content_sha256 = sha256(content_sha256) where leaf_index = ${a}`,
    );
    expect(await verify()).toEqual(
      [
        `altered-content Patient/${first}/_history/1 @${a}`,
        `altered-leaf Patient/${first}/_history/1 @${a}`,
      ].sort(),
    );
  });

  it('locates two swapped leaves as reordered', async () => {
    const { db, ids, verify } = await setUp();
    const [, second, third] = ids as [string, string, string];
    const b = await leafIndexOf(db, `Patient/${second}/_history/1`);
    const c = await leafIndexOf(db, `Patient/${third}/_history/1`);
    await db.query(sql`update ledger_leaf set leaf_index = -1 where leaf_index = ${b}`);
    await db.query(sql`update ledger_leaf set leaf_index = ${b} where leaf_index = ${c}`);
    await db.query(sql`update ledger_leaf set leaf_index = ${c} where leaf_index = -1`);
    expect(await verify()).toEqual(
      [
        `reordered-leaf Patient/${third}/_history/1 @${b}`,
        `reordered-leaf Patient/${second}/_history/1 @${c}`,
      ].sort(),
    );
  });

  it('locates an altered entry after the last complete block by the signed root alone (no hash of it is stored)', async () => {
    const { db, verify } = await setUp();
    const block = 2 ** STORED_NODE_MIN_LEVEL;
    const tailStart = (await sequencedTreeSize(db)) - ((await sequencedTreeSize(db)) % block);
    const [row] = await db.query(
      sql`select leaf_index, reference from ledger_leaf
          where kind = 'resource-version' and leaf_index >= ${tailStart} order by leaf_index desc limit 1`,
    );
    if (row === undefined) throw new Error('no resource version after the last complete block');
    const index = readNumber(row, 'leaf_index');
    await db.query(
      sql`update ledger_leaf set content_sha256 = sha256(content_sha256) where leaf_index = ${index}`,
    );
    expect(await verify()).toEqual(
      [`altered-content ${readString(row, 'reference')} @${index}`, 'checkpoint-mismatch'].sort(),
    );
  });

  it('locates two leaves swapped between blocks as reordered', async () => {
    const { db, ids, verify } = await setUp();
    const [first] = ids as [string];
    const a = await leafIndexOf(db, `Patient/${first}/_history/1`);
    const block = 2 ** STORED_NODE_MIN_LEVEL;
    const b = a + block;
    const [row] = await db.query(sql`select reference from ledger_leaf where leaf_index = ${b}`);
    const other = row === undefined ? '' : readString(row, 'reference');
    await db.query(sql`update ledger_leaf set leaf_index = -1 where leaf_index = ${a}`);
    await db.query(sql`update ledger_leaf set leaf_index = ${a} where leaf_index = ${b}`);
    await db.query(sql`update ledger_leaf set leaf_index = ${b} where leaf_index = -1`);
    expect(await verify()).toEqual(
      [`reordered-leaf ${other} @${a}`, `reordered-leaf Patient/${first}/_history/1 @${b}`].sort(),
    );
  });

  it('locates an altered subtree hash under a stored parent (RFC 9162 §2.1.1: the parent no longer hashes from it)', async () => {
    const { db, verify } = await setUp();
    await db.query(
      sql`update ledger_node set hash = sha256(hash) where level = ${STORED_NODE_MIN_LEVEL} and position = 1`,
    );
    expect(await verify()).toEqual(['altered-node']);
  });

  it('locates an altered subtree hash, and the node refuses to sign on top of it', async () => {
    const { t, db, verify } = await setUp();
    // The largest complete subtree: the signed root is folded from it.
    await db.query(
      sql`update ledger_node set hash = sha256(hash)
          where (level, position) = (select level, 0 from ledger_node order by level desc limit 1)`,
    );
    expect(await verify()).toEqual(['altered-node']);
    // Nor does the node sign a grown tree on top of it.
    await db.query(
      ledgerEntriesSql([{ kind: 'audit-event', reference: 'AuditEvent/late', canonicalJson: '{}' }]),
    );
    await expect(t.ledger.integrate()).rejects.toThrow(/refusing to sign/);
  });

  it('rejects a checkpoint the node did not sign and an entry whose leaf was removed', async () => {
    const { db, verify } = await setUp();
    await db.query(
      sql`update ledger_checkpoint set note = replace(note, split_part(note, E'\n', 3), encode(sha256('x'), 'base64'))
          where tree_size = (select max(tree_size) from ledger_checkpoint)`,
    );
    expect(await verify()).toEqual(['bad-checkpoint-signature']);
    const [row] = await db.query(sql`select reference, leaf_index from ledger_leaf where leaf_index = 0`);
    await db.query(sql`delete from ledger_leaf where leaf_index = 0`);
    expect(await verify()).toEqual(
      [
        'bad-checkpoint-signature',
        'missing-entry @0',
        `unrecorded-row ${row === undefined ? '' : readString(row, 'reference')}`,
      ].sort(),
    );
  });

  it('locates a rewritten history that was re-hashed into the tree: the signed root no longer matches', async () => {
    const { t, db, ids } = await setUp();
    const [id] = ids as [string];
    const reference = `Patient/${id}/_history/1`;
    await db.query(
      sql`update resource_history set content = replace(content, 'Kovalenko', 'Kovalenka') where id = ${id} and version_id = 1`,
    );
    // The operator re-records the altered row: new entry hash, then rebuilds every stored node.
    const [history] = await db.query(
      sql`select content from resource_history where id = ${id} and version_id = 1`,
    );
    const { contentSha256, canonicalJson } = await import('../../src/ledger/ledger-entries.ts');
    const newHash = contentSha256(
      canonicalJson(JSON.parse(history === undefined ? '{}' : readString(history, 'content'))),
    );
    await db.query(
      sql`update ledger_leaf set content_sha256 = decode(${newHash}, 'hex') where reference = ${reference}`,
    );
    await db.query(sql`delete from ledger_node`);
    await db.query(
      sql`insert into ledger_entry (kind, reference, content_sha256, recorded_at)
          select kind, reference, content_sha256, recorded_at from ledger_leaf order by leaf_index`,
    );
    await db.query(sql`delete from ledger_leaf`);
    const { sequenceAll } = await import('../../src/ledger/sequencer.ts');
    await sequenceAll(db, 100);
    const findings = summary((await verifyLedger(db, { signer: t.ledger.signer })).findings);
    expect(findings).toContain('checkpoint-mismatch');
    expect(findings.filter((finding) => finding !== 'checkpoint-mismatch')).toEqual([]);
  });

  it('locates an altered audit row once the append-only trigger is bypassed', async () => {
    const { t, db, verify } = await setUp();
    await t.recordSignIn();
    await t.ledger.integrate();
    const [row] = await db.query(sql`select id from audit_event order by recorded limit 1`);
    if (row === undefined) throw new Error('the sign-in produced no AuditEvent');
    const id = readString(row, 'id');
    await db.query(sql`alter table audit_event disable trigger audit_event_no_update_or_delete`);
    await db.query(
      sql`update audit_event set source_ip = '10.0.0.1', content = (replace(content::text, '"outcome":"0"', '"outcome":"4"'))::json where id = ${id}`,
    );
    const findings = await verify();
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatch(new RegExp(`^altered-content AuditEvent/${id}`));
  });

  /** Reads (access-log rows) in one batch of several rows, sequenced: [batch, positions]. */
  async function readSeveral(t: LedgerTestApp, ids: readonly string[]): Promise<number> {
    const reads = await Promise.all(
      [...ids, ...ids, ...ids].map((id) => t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` })),
    );
    expect(reads.map((read) => read.statusCode)).toContain(200);
    await t.settleAudit();
    await t.ledger.integrate();
    const [row] = await t.database.query(
      sql`select batch from audit_access group by batch order by count(*) desc, batch limit 1`,
    );
    if (row === undefined) throw new Error('the reads left no access-log rows');
    return readNumber(row, 'batch');
  }

  async function bypassAccessTriggers(db: Database): Promise<void> {
    for (const statement of [
      sql`alter table audit_access disable trigger audit_access_no_update_or_delete`,
      sql`alter table audit_access_patient disable trigger audit_access_patient_no_update_or_delete`,
      sql`alter table audit_access_batch disable trigger audit_access_batch_no_update_or_delete`,
    ])
      await db.query(statement);
  }

  it('finds nothing when reads are recorded as access-log batches, one leaf per batch', async () => {
    const { t, ids, verify } = await setUp();
    const batch = await readSeveral(t, ids);
    const [leaf] = await t.database.query(
      sql`select count(*) as leaves from ledger_leaf where reference = ${`AuditAccessBatch/${batch}`}`,
    );
    expect(Number(leaf?.leaves)).toBe(1);
    const [rows] = await t.database.query(
      sql`select count(*) as rows from audit_access where batch = ${batch}`,
    );
    expect(Number(rows?.rows)).toBeGreaterThan(1);
    expect(await verify()).toEqual([]);
  });

  it('names the access that was altered, not just its batch', async () => {
    const { t, db, ids, verify } = await setUp();
    const batch = await readSeveral(t, ids);
    // The batch's last row: how many reads share a batch depends on timing (one on a slow machine).
    const [last] = await db.query(
      sql`select max(position) as position from audit_access where batch = ${batch}`,
    );
    const position = Number(last?.position);
    await bypassAccessTriggers(db);
    await db.query(
      sql`update audit_access set source_ip = '203.0.113.9' where batch = ${batch} and position = ${position}`,
    );
    expect(await verify()).toEqual([
      `altered-content AuditEvent/r${batch}-${position} @${await leafIndexOf(db, `AuditAccessBatch/${batch}`)}`,
    ]);
  });

  it('names an access removed from its batch and one added to it', async () => {
    const { t, db, ids, verify } = await setUp();
    const batch = await readSeveral(t, ids);
    const leafIndex = await leafIndexOf(db, `AuditAccessBatch/${batch}`);
    const [counted] = await db.query(
      sql`select count(*)::int as rows from audit_access where batch = ${batch}`,
    );
    const rows = readNumber(counted ?? {}, 'rows');
    await bypassAccessTriggers(db);
    await db.query(sql`delete from audit_access_patient where batch = ${batch} and position = 0`);
    await db.query(sql`delete from audit_access where batch = ${batch} and position = 0`);
    await db.query(
      sql`insert into audit_access select batch, ${rows}, recorded, request_id, interaction, operation, action,
            outcome, outcome_desc, actor, actor_id, roles, fhir_user, organization, token_id, client_id, requestor,
            source_ip, user_agent, purpose, break_glass_reason, entities, query, '{}'
          from audit_access where batch = ${batch} and position = 1`,
    );
    expect(await verify()).toEqual(
      [
        `missing-row AuditEvent/r${batch}-0 @${leafIndex}`,
        `unrecorded-row AuditEvent/r${batch}-${rows} @${leafIndex}`,
      ].sort(),
    );
  });

  it("detects a rewritten batch row and a patient taken out of the access report's index", async () => {
    const { t, db, ids, verify } = await setUp();
    const batch = await readSeveral(t, ids);
    const leafIndex = await leafIndexOf(db, `AuditAccessBatch/${batch}`);
    await bypassAccessTriggers(db);
    await db.query(
      sql`update audit_access_batch set observer = 'https://elsewhere.example/fhir' where batch = ${batch}`,
    );
    await db.query(sql`delete from audit_access_patient where batch = ${batch} and position = 1`);
    expect(await verify()).toEqual(
      [
        `altered-content AuditAccessBatch/${batch} @${leafIndex}`,
        `altered-index AuditEvent/r${batch}-1`,
      ].sort(),
    );
  });

  it('reports access rows whose batch no ledger entry records', async () => {
    const { t, db, ids, verify } = await setUp();
    const batch = await readSeveral(t, ids);
    await db.query(
      sql`insert into audit_access select batch + 1000, position, recorded, request_id, interaction, operation,
            action, outcome, outcome_desc, actor, actor_id, roles, fhir_user, organization, token_id, client_id,
            requestor, source_ip, user_agent, purpose, break_glass_reason, entities, query, patients
          from audit_access where batch = ${batch} and position = 0`,
    );
    expect(await verify()).toEqual([`unrecorded-row AuditEvent/r${batch + 1000}-0`]);
  });
});
