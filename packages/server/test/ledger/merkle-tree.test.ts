/**
 * The stored tree, its roots and its proofs checked against an independent implementation written
 * here straight from RFC 9162's recursive definitions (§2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1
 * PROOF/SUBPROOF), with its own leaf encoding — none of the server's tree code runs on this side.
 */
import { createHash } from 'node:crypto';
import { verifyConsistencyProof, verifyInclusionProof } from '@concordia/fhir';
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerEntriesSql } from '../../src/ledger/ledger-entries.ts';
import { consistencyProof, inclusionProof } from '../../src/ledger/proofs.ts';
import { sequenceAll, sequenceBatch } from '../../src/ledger/sequencer.ts';
import { rootHash, STORED_NODE_MIN_LEVEL, sequencedTreeSize } from '../../src/ledger/tree-nodes.ts';
import type { Database } from '../../src/store/database.ts';
import { bundledMigrations } from '../../src/store/migrate.ts';
import { readNumber, readString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';

// ---- the independent reference implementation (RFC 9162 §2.1) ----
const sha = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const largestPowerBelow = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return sha(Buffer.of(0), leaves[0] as Buffer);
  const k = largestPowerBelow(leaves.length);
  return sha(Buffer.of(1), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = largestPowerBelow(leaves.length);
  return m < k
    ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
function subproof(m: number, leaves: Buffer[], complete: boolean): Buffer[] {
  if (m === leaves.length) return complete ? [] : [mth(leaves)];
  const k = largestPowerBelow(leaves.length);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), mth(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}
/** Leaf data as docs/audit-and-ledger.md specifies it: sorted keys, no whitespace. */
function leafData(row: { sha: string; kind: string; recorded: string; reference: string }): Buffer {
  return Buffer.from(
    `{"contentSha256":${JSON.stringify(row.sha)},"kind":${JSON.stringify(row.kind)},` +
      `"recordedAt":${JSON.stringify(row.recorded)},"reference":${JSON.stringify(row.reference)}}`,
  );
}
// ----

async function appendEntries(db: Database, from: number, count: number): Promise<void> {
  const entries = Array.from({ length: count }, (_, offset) => ({
    kind: (from + offset) % 3 === 0 ? ('audit-event' as const) : ('resource-version' as const),
    reference: `Observation/o${from + offset}/_history/1`,
    canonicalJson: `{"value":${from + offset}}`,
  }));
  await db.query(ledgerEntriesSql(entries));
}

/** The leaf data of every sequenced entry, in leaf order, read as plain columns. */
async function leafDataInOrder(db: Database): Promise<Buffer[]> {
  const rows = await db.query(
    sql`select kind, reference, encode(content_sha256, 'hex') as sha,
          to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded
        from ledger_leaf order by leaf_index`,
  );
  return rows.map((row) =>
    leafData({
      sha: readString(row, 'sha'),
      kind: readString(row, 'kind'),
      recorded: readString(row, 'recorded'),
      reference: readString(row, 'reference'),
    }),
  );
}

describe.each(testDatabases())('ledger tree on $name', (testDatabase) => {
  let db: Database | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('stores roots and proofs equal to RFC 9162 MTH/PATH/PROOF for every size up to 21, sequenced in uneven batches', async () => {
    db = await testDatabase.create();
    const sizes: number[] = [];
    let appended = 0;
    for (const count of [1, 1, 2, 3, 5, 1, 8]) {
      await appendEntries(db, appended, count);
      appended += count;
      // Batches of 2 split the appended entries across batch boundaries.
      await sequenceAll(db, 2, (batch) => sizes.push(batch.treeSize));
    }
    expect(await sequencedTreeSize(db)).toBe(21);
    expect(sizes.at(-1)).toBe(21);
    const leaves = await leafDataInOrder(db);
    expect(leaves).toHaveLength(21);
    for (let size = 1; size <= 21; size += 1) {
      const prefix = leaves.slice(0, size);
      expect((await rootHash(db, size)).toString('hex'), `root ${size}`).toBe(mth(prefix).toString('hex'));
      for (let index = 0; index < size; index += 1) {
        const proof = await inclusionProof(db, index, size);
        expect(
          proof.map((hash) => hash.toString('hex')),
          `inclusion ${index}/${size}`,
        ).toEqual(path(index, prefix).map((hash) => hash.toString('hex')));
      }
      for (let first = 1; first < size; first += 1) {
        const proof = await consistencyProof(db, first, size);
        expect(
          proof.map((hash) => hash.toString('hex')),
          `consistency ${first}→${size}`,
        ).toEqual(subproof(first, prefix, true).map((hash) => hash.toString('hex')));
      }
    }
  });

  it('produces proofs that the client verifier accepts, and rejects altered ones', async () => {
    db = await testDatabase.create();
    await appendEntries(db, 0, 13);
    await sequenceAll(db, 5);
    const leaves = await leafDataInOrder(db);
    const root13 = await rootHash(db, 13);
    const root6 = await rootHash(db, 6);
    const leaf = sha(Buffer.of(0), leaves[4] as Buffer);
    const proof = await inclusionProof(db, 4, 13);
    expect(await verifyInclusionProof(4, 13, leaf, proof, root13)).toBe(true);
    expect(await verifyInclusionProof(5, 13, leaf, proof, root13)).toBe(false);
    expect(await verifyInclusionProof(4, 13, leaf, proof.slice(1), root13)).toBe(false);
    const flipped = proof.map((hash, index) => (index === 1 ? sha(hash) : hash));
    expect(await verifyInclusionProof(4, 13, leaf, flipped, root13)).toBe(false);

    const consistency = await consistencyProof(db, 6, 13);
    expect(await verifyConsistencyProof(6, 13, root6, root13, consistency)).toBe(true);
    expect(await verifyConsistencyProof(6, 13, root13, root6, consistency)).toBe(false);
    expect(await verifyConsistencyProof(6, 13, mth(leaves.slice(0, 5)), root13, consistency)).toBe(false);
    // Power-of-two first size: the RFC prepends the first root to the path.
    expect(
      await verifyConsistencyProof(8, 13, await rootHash(db, 8), root13, await consistencyProof(db, 8, 13)),
    ).toBe(true);
  });

  /** The stored nodes, `level/position`, in key order. */
  async function storedNodeKeys(database: Database): Promise<string[]> {
    const rows = await database.query(sql`select level, position from ledger_node order by level, position`);
    return rows.map((row) => `${readNumber(row, 'level')}/${readNumber(row, 'position')}`);
  }

  it('stores only the complete subtrees of the stored levels, and serves RFC 9162 roots and proofs across blocks', async () => {
    db = await testDatabase.create();
    await appendEntries(db, 0, 70);
    await sequenceAll(db, 9);
    // 70 leaves: four complete subtrees of 16, two of 32, one of 64; nothing below level 4.
    expect(STORED_NODE_MIN_LEVEL).toBe(4);
    expect(await storedNodeKeys(db)).toEqual(['4/0', '4/1', '4/2', '4/3', '5/0', '5/1', '6/0']);
    const leaves = await leafDataInOrder(db);
    for (const size of [15, 16, 17, 31, 32, 33, 47, 64, 65, 70]) {
      const prefix = leaves.slice(0, size);
      expect((await rootHash(db, size)).toString('hex'), `root ${size}`).toBe(mth(prefix).toString('hex'));
      for (const index of [0, 7, 15, 16, 30, 33, 48, 63, 64, 69].filter((candidate) => candidate < size)) {
        expect(
          (await inclusionProof(db, index, size)).map((hash) => hash.toString('hex')),
          `inclusion ${index}/${size}`,
        ).toEqual(path(index, prefix).map((hash) => hash.toString('hex')));
      }
      for (const first of [1, 5, 16, 17, 31, 40, 64].filter((candidate) => candidate < size)) {
        expect(
          (await consistencyProof(db, first, size)).map((hash) => hash.toString('hex')),
          `consistency ${first}→${size}`,
        ).toEqual(subproof(first, prefix, true).map((hash) => hash.toString('hex')));
      }
    }
  });

  it('migration 0017 deletes the lower nodes an earlier sequencer stored: the database then matches a new one', async () => {
    db = await testDatabase.create();
    await appendEntries(db, 0, 37);
    await sequenceAll(db, 10);
    const current = await storedNodeKeys(db);
    const root = await rootHash(db, 37);
    // What the sequencer stored before 0017: every complete subtree, the leaf hashes (level 0) included.
    const leaves = await leafDataInOrder(db);
    const lower: { level: number; position: number; hash: string }[] = [];
    for (let level = 0; level < STORED_NODE_MIN_LEVEL; level += 1) {
      const width = 2 ** level;
      for (let position = 0; (position + 1) * width <= leaves.length; position += 1)
        lower.push({
          level,
          position,
          hash: mth(leaves.slice(position * width, (position + 1) * width)).toString('hex'),
        });
    }
    await db.query(
      sql`insert into ledger_node (level, position, hash)
          select level, position, decode(hash, 'hex')
          from unnest(${lower.map((node) => node.level)}::smallint[], ${lower.map((node) => node.position)}::bigint[],
            ${lower.map((node) => node.hash)}::text[]) as n(level, position, hash)`,
    );
    const migration = (await bundledMigrations()).find((candidate) => candidate.version === 17);
    if (migration === undefined) throw new Error('no migration 0017');
    await db.executeScript(migration.script);
    expect(await storedNodeKeys(db)).toEqual(current);
    expect((await rootHash(db, 37)).equals(root)).toBe(true);
  });

  it('lets only one sequencer place entries at a time (advisory lock)', async () => {
    db = await testDatabase.create();
    await appendEntries(db, 0, 4);
    const results = await Promise.all([sequenceBatch(db, 10), sequenceBatch(db, 10), sequenceBatch(db, 10)]);
    const placed = results.reduce((total, batch) => total + (batch?.sequenced ?? 0), 0);
    expect(placed).toBe(4);
    const [row] = await db.query(
      sql`select count(distinct leaf_index)::text as distinct_indexes, max(leaf_index)::text as last from ledger_leaf`,
    );
    expect(row).toEqual({ distinct_indexes: '4', last: '3' });
  });
});
