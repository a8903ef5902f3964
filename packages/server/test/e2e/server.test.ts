/**
 * The whole server as `concordia serve --demo` runs it — composition root, demo data, real TCP —
 * including a graceful shutdown that lets a request in flight finish.
 */
import { request as httpRequest } from 'node:http';
import { isRecord } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/main.ts';

describe('concordia serve --demo', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // FHIR behaviour of the running server, not access: the open development principal (ADR 0004).
    const config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      CONCORDIA_SHUTDOWN_GRACE_SECONDS: '5',
      CONCORDIA_AUTH: 'insecure-demo',
    });
    server = await startServer({ config, demo: true, pgliteDataDir: 'memory://' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('listens on the port it reports and is ready', async () => {
    expect(server.fhirBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir$/);
    const response = await fetch(new URL('/readyz', server.fhirBaseUrl));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready' });
  });

  it('serves the demo patients over FHIR REST', async () => {
    const history = await fetch(`${server.fhirBaseUrl}/Patient/_history?_count=50`);
    expect(history.status).toBe(200);
    const bundle: unknown = await history.json();
    const ids = isRecord(bundle) && Array.isArray(bundle.entry) ? bundle.entry.map(patientIdOf) : [];
    expect(new Set(ids).size).toBe(25);

    const read = await fetch(`${server.fhirBaseUrl}/Patient/${ids[0] ?? ''}`, {
      headers: { accept: 'application/fhir+json' },
    });
    expect(read.status).toBe(200);
    expect(read.headers.get('content-type')).toContain('application/fhir+json');
    expect(await read.json()).toMatchObject({
      resourceType: 'Patient',
      id: ids[0],
      meta: { versionId: '1' },
    });
  });

  it('lets a request in flight finish when it is closed, then stops accepting connections', async () => {
    const url = new URL(`${server.fhirBaseUrl}/Patient`);
    const body = JSON.stringify({
      resourceType: 'Patient',
      name: [{ family: 'Araújo', given: ['Sebastião'] }],
    });
    const bytes = Buffer.from(body);
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', 'content-length': bytes.length },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.on('error', reject);
      // Headers and half the body now: the request is in flight when the shutdown starts.
      request.write(bytes.subarray(0, 20));
      setTimeout(() => request.end(bytes.subarray(20)), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));

    const closed = server.close();
    const response = await answered;
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body)).toMatchObject({
      resourceType: 'Patient',
      name: [{ family: 'Araújo' }],
    });
    await closed;
    await expect(fetch(new URL('/healthz', server.fhirBaseUrl))).rejects.toThrow();
  });
});

function patientIdOf(entry: unknown): string | undefined {
  if (!isRecord(entry) || !isRecord(entry.resource)) return undefined;
  return typeof entry.resource.id === 'string' ? entry.resource.id : undefined;
}
