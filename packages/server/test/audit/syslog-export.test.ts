/**
 * The syslog copy of the audit (RFC 5424 messages over TLS, RFC 5425 octet-counting frames) against
 * a local TLS collector with a throw-away certificate made by openssl in the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, FHIR_JSON, json, patient, type TestApp } from '../support/test-app.ts';

/** Splits an RFC 5425 stream (`MSG-LEN SP SYSLOG-MSG`…) into messages; fails on a broken frame. */
function frames(stream: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  let offset = 0;
  while (offset < stream.length) {
    const space = stream.indexOf(0x20, offset);
    const length = Number(stream.subarray(offset, space).toString('ascii'));
    if (space === -1 || !Number.isInteger(length) || length <= 0)
      throw new Error(`broken frame at ${offset}`);
    if (space + 1 + length > stream.length) break; // the rest has not arrived yet
    messages.push(stream.subarray(space + 1, space + 1 + length));
    offset = space + 1 + length;
  }
  return messages;
}

const RFC5424_HEADER = /^<(\d{1,3})>1 (\S+) (\S+) concordia (\d+) AuditEvent - \u{feff}/u;

for (const database of testDatabases()) {
  describe(`syslog export of the audit on ${database.name}`, () => {
    let directory: string;
    let collector: Server;
    let received = Buffer.alloc(0);
    let t: TestApp;

    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'concordia-syslog-'));
      const key = join(directory, 'key.pem');
      const cert = join(directory, 'cert.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
        ],
        { stdio: 'ignore' },
      );
      collector = createServer({ key: await readFile(key), cert: await readFile(cert) }, (socket) => {
        socket.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
        });
      });
      await new Promise<void>((resolve) => collector.listen(0, 'localhost', resolve));
      const address = collector.address();
      if (address === null || typeof address === 'string') throw new Error('the collector has no port');
      const { port } = address;
      t = await createTestApp(database, {
        CONCORDIA_AUDIT_SYSLOG_URL: `tls://localhost:${port}`,
        CONCORDIA_AUDIT_SYSLOG_CA: cert,
      });
    });
    afterAll(async () => {
      await t?.close();
      collector?.close();
      await rm(directory, { recursive: true, force: true });
    });

    it('sends each committed AuditEvent (a write and a read) as one RFC 5424 message', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: patient(),
      });
      const id = String(json(created.body).id);
      await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
      await vi.waitFor(() => expect(frames(received).length).toBeGreaterThanOrEqual(2), {
        timeout: 10_000,
        interval: 50,
      });
      const messages = frames(received).map((message) => message.toString('utf8'));
      for (const message of messages) {
        const header = RFC5424_HEADER.exec(message);
        expect(header?.[1]).toBe('85'); // facility 10 (security/authorization) × 8 + severity 5 (notice)
        expect(header?.[3]).toBe('fhir.test');
      }
      const events = messages.map((message) => json(message.replace(RFC5424_HEADER, '')));
      const subtypes = events.map((event) => JSON.stringify(event.subtype));
      expect(subtypes.some((subtype) => subtype.includes('"create"'))).toBe(true);
      expect(subtypes.some((subtype) => subtype.includes('"read"'))).toBe(true);
      expect(events.every((event) => event.resourceType === 'AuditEvent')).toBe(true);
    });

    it('does not send the event of a write that rolled back', async () => {
      const before = frames(received).length;
      const failed = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: patient(), request: { method: 'POST', url: 'Patient' } },
            { request: { method: 'DELETE', url: 'Patient/never-existed' } },
            { request: { method: 'GET', url: 'Patient/never-existed' } },
          ],
        },
      });
      expect(failed.statusCode).toBeGreaterThanOrEqual(400);
      await vi.waitFor(() => expect(frames(received).length).toBeGreaterThan(before), {
        timeout: 10_000,
        interval: 50,
      });
      const sent = frames(received)
        .slice(before)
        .map((message) => json(message.toString('utf8').replace(RFC5424_HEADER, '')));
      expect(sent.map((event) => JSON.stringify(event.subtype))).toEqual([
        expect.stringContaining('"transaction"'),
      ]);
    });
  });
}
