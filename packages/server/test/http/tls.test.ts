/**
 * HTTPS served by the server itself (http/tls.ts): the whole server as `concordia serve` composes
 * it, over a real TLS socket, with a certificate made in the test. Discovery documents name https,
 * HSTS is sent, plain HTTP on the TLS port gets nothing, a renewed certificate is taken on reload.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { Server as HttpsServer, request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../src/config.ts';
import { loadTlsCredentials, reloadTlsCredentials, TlsFilesError } from '../../src/http/tls.ts';
import { type RunningServer, startServer } from '../../src/main.ts';
import { intermediateAuthority, rootAuthority } from '../signatures/test-pki.ts';
import {
  type ServerCertificate,
  selfSignedCertificate,
  serverCertificate,
} from './self-signed-certificate.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  fingerprint256: string;
}

/** GET over a new TLS connection that trusts `ca` only. */
function httpsGet(url: string, ca: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { ca, agent: false }, (response) => {
      const socket = response.socket;
      if (!(socket instanceof TLSSocket)) return reject(new Error('not a TLS connection'));
      const fingerprint256 = socket.getPeerCertificate().fingerprint256;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, fingerprint256 }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('HTTPS with CONCORDIA_TLS_CERT and CONCORDIA_TLS_KEY', () => {
  let directory: string;
  let certificate: ServerCertificate;
  let config: Config;
  let server: RunningServer;
  let origin: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'concordia-tls-'));
    certificate = await selfSignedCertificate();
    await writeFile(join(directory, 'cert.pem'), certificate.certPem);
    await writeFile(join(directory, 'key.pem'), certificate.keyPem, { mode: 0o600 });
    const port = await freePort();
    origin = `https://127.0.0.1:${port}`;
    config = loadConfig({
      PORT: String(port),
      LOG_LEVEL: 'silent',
      CONCORDIA_DATA_DIR: directory,
      CONCORDIA_TLS_CERT: join(directory, 'cert.pem'),
      CONCORDIA_TLS_KEY: join(directory, 'key.pem'),
      CONCORDIA_LEDGER: 'off',
    });
    server = await startServer({ config, pgliteDataDir: 'memory://' });
  });
  afterAll(async () => {
    await server?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('listens with TLS and reports an https FHIR base', async () => {
    expect(server.fhirBaseUrl).toBe(`${origin}/fhir`);
    const answer = await httpsGet(`${origin}/fhir/metadata`, certificate.certPem);
    expect(answer.status).toBe(200);
    expect(answer.fingerprint256).toBe(certificate.fingerprint256);
    expect(JSON.parse(answer.body)).toMatchObject({ resourceType: 'CapabilityStatement' });
  });

  it('names https URLs in SMART and OpenID discovery (the issuer is the https base URL)', async () => {
    const smart = JSON.parse(
      (await httpsGet(`${origin}/fhir/.well-known/smart-configuration`, certificate.certPem)).body,
    );
    expect(smart).toMatchObject({
      issuer: origin,
      token_endpoint: `${origin}/oauth2/token`,
      authorization_endpoint: `${origin}/oauth2/authorize`,
    });
    const openid = JSON.parse(
      (await httpsGet(`${origin}/.well-known/openid-configuration`, certificate.certPem)).body,
    );
    expect(openid).toMatchObject({ issuer: origin, jwks_uri: `${origin}/oauth2/jwks` });
  });

  it('sends Strict-Transport-Security on every answer, the authorization server’s included (RFC 6797)', async () => {
    for (const path of ['/fhir/metadata', '/fhir/Patient', '/oauth2/jwks', '/healthz']) {
      const answer = await httpsGet(`${origin}${path}`, certificate.certPem);
      expect(answer.headers['strict-transport-security'], path).toBe('max-age=31536000');
    }
  });

  it('answers nothing to plain HTTP on the TLS port', async () => {
    const attempt = new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `http://127.0.0.1:${new URL(origin).port}/healthz`,
        { agent: false },
        (response) => resolve(response.statusCode ?? 0),
      );
      request.on('error', reject);
      request.end();
    });
    await expect(attempt).rejects.toThrow();
  });

  it('takes a renewed certificate for new connections on reload, and keeps the old one when the files are bad', async () => {
    const listener = server.app.server;
    const tls = config.tls;
    if (tls === undefined || !(listener instanceof HttpsServer)) throw new Error('not serving HTTPS');
    const renewed = await selfSignedCertificate();
    await writeFile(tls.certFile, renewed.certPem);
    await writeFile(tls.keyFile, renewed.keyPem);
    await reloadTlsCredentials(listener, tls);
    const answer = await httpsGet(`${origin}/healthz`, renewed.certPem);
    expect(answer.fingerprint256).toBe(renewed.fingerprint256);

    // A certificate whose key is not the one beside it: refused, and the renewed one stays.
    await writeFile(tls.certFile, certificate.certPem);
    await expect(reloadTlsCredentials(listener, tls)).rejects.toThrow(TlsFilesError);
    expect((await httpsGet(`${origin}/healthz`, renewed.certPem)).fingerprint256).toBe(
      renewed.fingerprint256,
    );
  });

  it('refuses to start with a key that does not belong to the certificate, naming the files', async () => {
    const other = await selfSignedCertificate();
    const mismatched = join(directory, 'other-key.pem');
    await writeFile(mismatched, other.keyPem);
    const files = { certFile: join(directory, 'cert.pem'), keyFile: mismatched };
    await writeFile(files.certFile, certificate.certPem);
    await expect(loadTlsCredentials(files)).rejects.toThrow(/other-key\.pem/);
    await expect(loadTlsCredentials({ ...files, keyFile: join(directory, 'missing.pem') })).rejects.toThrow(
      TlsFilesError,
    );
  });

  it('sends the intermediate CA of CONCORDIA_TLS_CA after a leaf-only certificate, so clients that trust the root connect', async () => {
    const root = await rootAuthority();
    const intermediate = await intermediateAuthority(root);
    const leaf = await serverCertificate('localhost', intermediate);
    const files = {
      certFile: join(directory, 'leaf.pem'),
      keyFile: join(directory, 'leaf-key.pem'),
      caFile: join(directory, 'intermediate.pem'),
    };
    await writeFile(files.certFile, leaf.certPem);
    await writeFile(files.keyFile, leaf.keyPem);
    await writeFile(files.caFile, intermediate.certificate.toString('pem'));
    const rootPem = root.certificate.toString('pem');
    const serve = async (credentials: Awaited<ReturnType<typeof loadTlsCredentials>>) => {
      const listener = new HttpsServer(credentials, (_request, response) => response.end('ok'));
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      const address = listener.address();
      const port = address !== null && typeof address === 'object' ? address.port : 0;
      try {
        return await httpsGet(`https://127.0.0.1:${port}/`, rootPem);
      } finally {
        await new Promise<void>((resolve) => listener.close(() => resolve()));
      }
    };
    expect((await serve(await loadTlsCredentials(files))).body).toBe('ok');
    // Without it the chain is broken: a client trusting the root alone cannot verify the leaf.
    const { caFile: _omitted, ...leafOnly } = files;
    await expect(serve(await loadTlsCredentials(leafOnly))).rejects.toThrow(/unable to (verify|get issuer)/);
  });
});
