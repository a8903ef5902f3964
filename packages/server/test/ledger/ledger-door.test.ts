/**
 * The `/ledger` door end to end: resources written through the FHIR door, sequenced, signed,
 * and every proof checked with an implementation written here from RFC 9162, RFC 8785 and the
 * C2SP note specs (node:crypto only), then with the isomorphic client verifier.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import {
  ED25519_COSIGNATURE,
  type InclusionProofDocument,
  parseVerifierKey,
  tombstoneContent,
  verifyResourceInclusion,
} from '@concordia/fhir';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { FHIR_JSON, json, patient } from '../support/test-app.ts';
import { createLedgerTestApp, type LedgerTestApp } from './ledger-test-app.ts';

// ---- independent reference code ----
const sha = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const nodeOf = (left: Buffer, right: Buffer): Buffer => sha(Buffer.of(1), left, right);
/** JCS for data without non-integer numbers or exotic strings: sorted keys, JSON.stringify primitives. */
function jcs(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${jcs(Reflect.get(value, key))}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
/** The root implied by PATH(m, D[0:n]) (RFC 9162 §2.1.3.1 read backwards), recursively. */
function rootFromPath(m: number, n: number, leaf: Buffer, path: Buffer[]): Buffer {
  if (n === 1) {
    if (path.length !== 0) throw new Error('path too long');
    return leaf;
  }
  const k = 2 ** Math.ceil(Math.log2(n) - 1);
  const last = path.at(-1);
  if (last === undefined) throw new Error('path too short');
  const rest = path.slice(0, -1);
  return m < k
    ? nodeOf(rootFromPath(m, k, leaf, rest), last)
    : nodeOf(last, rootFromPath(m - k, n - k, leaf, rest));
}
function rawPublicKey(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
}
function keyId(name: string, type: number, publicKey: Buffer): Buffer {
  return sha(Buffer.from(`${name}\n`), Buffer.of(type), publicKey).subarray(0, 4);
}
function ed25519PublicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]),
    format: 'der',
    type: 'spki',
  });
}
// ----

const witness = generateKeyPairSync('ed25519');
const WITNESS_NAME = 'witness.hospital-a.example/w1';
const witnessVkey = `${WITNESS_NAME}+${keyId(WITNESS_NAME, 4, rawPublicKey(witness.privateKey)).toString('hex')}+${Buffer.concat([Buffer.of(4), rawPublicKey(witness.privateKey)]).toString('base64')}`;

/** The witness's cosigned note; `signedTimestamp` lets a test sign another time than it claims. */
function cosign(note: string, timestamp: number, signedTimestamp = timestamp): string {
  const body = note.slice(0, note.indexOf('\n\n') + 1);
  const signature = sign(
    null,
    Buffer.from(`cosignature/v1\ntime ${signedTimestamp}\n${body}`),
    witness.privateKey,
  );
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(BigInt(timestamp));
  const line = Buffer.concat([
    keyId(WITNESS_NAME, 4, rawPublicKey(witness.privateKey)),
    stamp,
    signature,
  ]).toString('base64');
  return `${body}\n— ${WITNESS_NAME} ${line}\n`;
}

describe.each(testDatabases())('ledger door on $name', (testDatabase) => {
  let test: LedgerTestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  async function writeAndSign(t: LedgerTestApp): Promise<string> {
    const created = await t.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: FHIR_JSON,
      payload: patient(),
    });
    expect(created.statusCode).toBe(201);
    const id = String(json(created.body).id);
    const updated = await t.app.inject({
      method: 'PUT',
      url: `/fhir/Patient/${id}`,
      headers: FHIR_JSON,
      payload: { ...patient({ family: 'Bondarenko' }), id },
    });
    expect(updated.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/fhir/Patient/${id}` })).statusCode).toBeLessThan(
      300,
    );
    await t.ledger.integrate();
    return id;
  }

  it('publishes a C2SP checkpoint signed by the node key it serves at /ledger/key', async () => {
    test = await createLedgerTestApp(testDatabase);
    await writeAndSign(test);
    const key = (await test.app.inject({ method: 'GET', url: '/ledger/key' })).body.trim();
    const checkpoint = await test.app.inject({ method: 'GET', url: '/ledger/checkpoint' });
    expect(checkpoint.statusCode).toBe(200);
    expect(checkpoint.headers['content-type']).toMatch(/^text\/plain/);
    // The base64 part may contain '+': split on the first two only.
    const [, name = '', hexId = '', encoded = ''] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(key) ?? [];
    expect(name).toBe('fhir.test/ledger');
    const typed = Buffer.from(encoded, 'base64');
    expect(typed[0]).toBe(1);
    const publicKey = typed.subarray(1);
    expect(keyId(name, 1, publicKey).toString('hex')).toBe(hexId);
    const [origin, size, root, blank, signatureLine, end] = checkpoint.body.split('\n');
    expect([origin, blank, end]).toEqual(['fhir.test/ledger', '', '']);
    expect(Number(size)).toBeGreaterThanOrEqual(3);
    expect(Buffer.from(String(root), 'base64')).toHaveLength(32);
    const match = /^— (\S+) (\S+)$/.exec(String(signatureLine));
    expect(match?.[1]).toBe(name);
    const signed = Buffer.from(String(match?.[2]), 'base64');
    expect(signed.subarray(0, 4).toString('hex')).toBe(hexId);
    const body = `${origin}\n${size}\n${root}\n`;
    expect(verify(null, Buffer.from(body), ed25519PublicKeyObject(publicKey), signed.subarray(4))).toBe(true);
  });

  it('proves each version, tombstone included, in the signed tree (independent RFC 9162 check)', async () => {
    test = await createLedgerTestApp(testDatabase);
    const id = await writeAndSign(test);
    const note = (await test.app.inject({ method: 'GET', url: '/ledger/checkpoint' })).body;
    const [, size, root] = note.split('\n');
    for (const version of [1, 2, 3]) {
      const answer = await test.app.inject({
        method: 'GET',
        url: `/ledger/proof/inclusion?resource=Patient/${id}&version=${version}`,
      });
      expect(answer.statusCode, answer.body).toBe(200);
      const document = JSON.parse(answer.body) as InclusionProofDocument;
      expect(document.treeSize).toBe(Number(size));
      expect(document.leaf.reference).toBe(`Patient/${id}/_history/${version}`);
      const read = await test.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/_history/${version}` });
      const content =
        version === 3
          ? {
              deleted: true,
              id,
              lastUpdated: document.leaf.recordedAt,
              resourceType: 'Patient',
              versionId: '3',
            }
          : JSON.parse(read.body);
      expect(document.leaf.contentSha256).toBe(sha(Buffer.from(jcs(content))).toString('hex'));
      if (version !== 3) expect(document.leaf.recordedAt).toBe(content.meta.lastUpdated);
      const leafData = `{"contentSha256":"${document.leaf.contentSha256}","kind":"resource-version","recordedAt":"${document.leaf.recordedAt}","reference":"${document.leaf.reference}"}`;
      const leaf = sha(Buffer.of(0), Buffer.from(leafData));
      const path = document.proof.map((hash) => Buffer.from(hash, 'base64'));
      expect(rootFromPath(document.leafIndex, document.treeSize, leaf, path).toString('base64')).toBe(root);
    }
  });

  it('answers consistency proofs between checkpoints that an independent check accepts', async () => {
    test = await createLedgerTestApp(testDatabase);
    await writeAndSign(test);
    const first = (await test.app.inject({ method: 'GET', url: '/ledger/checkpoint' })).body.split('\n');
    await writeAndSign(test);
    const second = (await test.app.inject({ method: 'GET', url: '/ledger/checkpoint' })).body.split('\n');
    const answer = await test.app.inject({
      method: 'GET',
      url: `/ledger/proof/consistency?first=${first[1]}&second=${second[1]}`,
    });
    expect(answer.statusCode).toBe(200);
    const proof = (JSON.parse(answer.body) as { proof: string[] }).proof.map((hash) =>
      Buffer.from(hash, 'base64'),
    );
    // SUBPROOF read backwards: rebuild both roots from the proof (RFC 9162 §2.1.4.1).
    const rebuild = (
      m: number,
      n: number,
      start: number,
      complete: boolean,
      nodes: Buffer[],
    ): [Buffer | undefined, Buffer] => {
      if (m === n) {
        if (complete) return [undefined, Buffer.alloc(0)];
        const node = nodes.shift();
        if (node === undefined) throw new Error('proof too short');
        return [node, node];
      }
      const k = 2 ** Math.ceil(Math.log2(n) - 1);
      const last = nodes.pop();
      if (last === undefined) throw new Error('proof too short');
      if (m <= k) {
        const [old, whole] = rebuild(m, k, start, complete, nodes);
        return [old, nodeOf(whole, last)];
      }
      const [old, right] = rebuild(m - k, n - k, start + k, false, nodes);
      return [old === undefined ? undefined : nodeOf(last, old), nodeOf(last, right)];
    };
    const m = Number(first[1]);
    const n = Number(second[1]);
    const firstRoot = Buffer.from(String(first[2]), 'base64');
    // When first is a complete subtree on the left edge, PROOF omits it: the verifier knows it.
    const isPower = 2 ** Math.round(Math.log2(m)) === m;
    const nodes = isPower ? [firstRoot, ...proof] : [...proof];
    const [oldRoot, newRoot] = rebuild(m, n, 0, !isPower, nodes);
    expect(nodes).toHaveLength(0);
    expect((oldRoot ?? firstRoot).toString('base64')).toBe(first[2]);
    expect(newRoot.toString('base64')).toBe(second[2]);
    expect(
      (await test.app.inject({ method: 'GET', url: `/ledger/proof/consistency?first=${n}&second=${m}` }))
        .statusCode,
    ).toBe(400);
  });

  it('stores verified witness cosignatures, confirms at the quorum, and the client verifier accepts the proof', async () => {
    test = await createLedgerTestApp(testDatabase, { CONCORDIA_LEDGER_WITNESSES: witnessVkey });
    const id = await writeAndSign(test);
    expect((await test.app.inject({ method: 'GET', url: '/ledger/checkpoint?confirmed' })).statusCode).toBe(
      404,
    );
    const note = (await test.app.inject({ method: 'GET', url: '/ledger/checkpoint' })).body;
    const forged = cosign(
      note.replace(/\n(\d+)\n/, (_, size: string) => `\n${Number(size) + 1}\n`),
      1_800_000_000,
    );
    expect(
      (
        await test.app.inject({
          method: 'POST',
          url: '/ledger/cosignature',
          headers: { 'content-type': 'text/plain' },
          payload: forged,
        })
      ).statusCode,
    ).toBe(404);
    const badSignature = cosign(note, 1_800_000_000, 1_800_000_001);
    const refused = await test.app.inject({
      method: 'POST',
      url: '/ledger/cosignature',
      headers: { 'content-type': 'text/plain' },
      payload: badSignature,
    });
    expect(refused.statusCode).toBe(403);
    const accepted = await test.app.inject({
      method: 'POST',
      url: '/ledger/cosignature',
      headers: { 'content-type': 'text/plain' },
      payload: cosign(note, 1_800_000_000),
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(JSON.parse(accepted.body)).toMatchObject({
      accepted: [WITNESS_NAME],
      cosigners: 1,
      confirmed: true,
    });
    const confirmed = await test.app.inject({ method: 'GET', url: '/ledger/checkpoint?confirmed' });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain(`— ${WITNESS_NAME} `);

    const logKey = await parseVerifierKey(
      (await test.app.inject({ method: 'GET', url: '/ledger/key' })).body,
    );
    const trust = { logKey, witnesses: [await parseVerifierKey(witnessVkey)], quorum: 1 };
    const document = JSON.parse(
      (
        await test.app.inject({
          method: 'GET',
          url: `/ledger/proof/inclusion?resource=Patient/${id}&version=2`,
        })
      ).body,
    ) as InclusionProofDocument;
    const version2 = JSON.parse(
      (await test.app.inject({ method: 'GET', url: `/fhir/Patient/${id}/_history/2` })).body,
    );
    expect(await verifyResourceInclusion(version2, document, trust)).toMatchObject({
      ok: true,
      cosigners: [WITNESS_NAME],
    });
    const altered = { ...version2, gender: 'male' };
    expect(await verifyResourceInclusion(altered, document, trust)).toMatchObject({ ok: false });
    expect(await verifyResourceInclusion(version2, document, { ...trust, quorum: 2 })).toMatchObject({
      ok: false,
    });
    const tombstoneDocument = JSON.parse(
      (
        await test.app.inject({
          method: 'GET',
          url: `/ledger/proof/inclusion?resource=Patient/${id}&version=3`,
        })
      ).body,
    ) as InclusionProofDocument;
    const tombstone = tombstoneContent('Patient', id, 3, tombstoneDocument.leaf.recordedAt);
    expect(await verifyResourceInclusion(tombstone, tombstoneDocument, trust)).toMatchObject({ ok: true });
    expect(ED25519_COSIGNATURE).toBe(4);
  });

  it('proves an AuditEvent and any leaf by index against the same root', async () => {
    test = await createLedgerTestApp(testDatabase);
    await test.recordSignIn();
    await writeAndSign(test);
    const root = (await test.app.inject({ method: 'GET', url: '/ledger/checkpoint' })).body.split('\n')[2];
    const [row] = await test.database.query(
      sql`select id, content::text as content from audit_event limit 1`,
    );
    if (row === undefined) throw new Error('the sign-in produced no AuditEvent');
    const answer = await test.app.inject({
      method: 'GET',
      url: `/ledger/proof/inclusion?audit=${String(row.id)}`,
    });
    expect(answer.statusCode, answer.body).toBe(200);
    const document = JSON.parse(answer.body) as InclusionProofDocument;
    expect(document.leaf).toMatchObject({ kind: 'audit-event', reference: `AuditEvent/${String(row.id)}` });
    expect(document.leaf.contentSha256).toBe(
      sha(Buffer.from(jcs(JSON.parse(String(row.content))))).toString('hex'),
    );
    const byIndex = JSON.parse(
      (await test.app.inject({ method: 'GET', url: `/ledger/proof/inclusion?index=${document.leafIndex}` }))
        .body,
    ) as InclusionProofDocument;
    expect(byIndex.leaf).toEqual(document.leaf);
    const leafData = `{"contentSha256":"${document.leaf.contentSha256}","kind":"audit-event","recordedAt":"${document.leaf.recordedAt}","reference":"${document.leaf.reference}"}`;
    const leaf = sha(Buffer.of(0), Buffer.from(leafData));
    const path = document.proof.map((hash) => Buffer.from(hash, 'base64'));
    expect(rootFromPath(document.leafIndex, document.treeSize, leaf, path).toString('base64')).toBe(root);
    expect(
      (await test.app.inject({ method: 'GET', url: '/ledger/proof/inclusion?index=999999' })).statusCode,
    ).toBe(404);
  });

  it('proves a read (an access-log row) through its batch leaf, the batch content and the row', async () => {
    test = await createLedgerTestApp(testDatabase);
    const id = await writeAndSign(test);
    // A read of the deleted patient (410) is audited like any other.
    expect((await test.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` })).statusCode).toBe(410);
    await test.settleAudit();
    await test.ledger.integrate();
    const root = (await test.app.inject({ method: 'GET', url: '/ledger/checkpoint' })).body.split('\n')[2];
    const [row] = await test.database.query(
      sql`select batch, position from audit_access where ${`Patient/${id}`} = any(entities)`,
    );
    if (row === undefined) throw new Error('the read left no access-log row');
    const eventId = `r${String(row.batch)}-${String(row.position)}`;
    const answer = await test.app.inject({ method: 'GET', url: `/ledger/proof/inclusion?audit=${eventId}` });
    expect(answer.statusCode, answer.body).toBe(200);
    const document = JSON.parse(answer.body) as InclusionProofDocument & {
      accessBatch: { content: string; position: number; row: string };
    };
    expect(document.leaf).toMatchObject({
      kind: 'audit-access-batch',
      reference: `AuditAccessBatch/${String(row.batch)}`,
    });
    const { content, position, row: rowJson } = document.accessBatch;
    // The row is the read's facts; it hashes to the hash at its position, and the batch content to the leaf.
    expect(JSON.parse(rowJson)).toMatchObject({ interaction: 'read', entities: [`Patient/${id}`], position });
    const batch = JSON.parse(content) as { rows: string[]; observer: string };
    expect(jcs(batch)).toBe(content);
    expect(batch.rows[position]).toBe(sha(Buffer.from(rowJson)).toString('hex'));
    expect(sha(Buffer.from(content)).toString('hex')).toBe(document.leaf.contentSha256);
    const leafData = jcs({ ...document.leaf });
    const path = document.proof.map((hash) => Buffer.from(hash, 'base64'));
    expect(
      rootFromPath(
        document.leafIndex,
        document.treeSize,
        sha(Buffer.of(0), Buffer.from(leafData)),
        path,
      ).toString('base64'),
    ).toBe(root);
    // The AuditEvent an auditor reads is the same access.
    const event = await test.app.inject({ method: 'GET', url: `/fhir/AuditEvent/${eventId}` });
    expect(json(event.body)).toMatchObject({ resourceType: 'AuditEvent', id: eventId, action: 'R' });
  });

  it('serves inclusion proofs only to callers allowed to read the row', async () => {
    test = await createLedgerTestApp(testDatabase, { CONCORDIA_AUTH: 'required' });
    await test.ledger.integrate();
    const answer = await test.app.inject({
      method: 'GET',
      url: '/ledger/proof/inclusion?resource=Patient/x&version=1',
    });
    expect([401, 404]).toContain(answer.statusCode);
    expect(answer.body).not.toContain('contentSha256');
    // Checkpoints stay public.
    expect((await test.app.inject({ method: 'GET', url: '/ledger/key' })).statusCode).toBe(200);
  });
});
