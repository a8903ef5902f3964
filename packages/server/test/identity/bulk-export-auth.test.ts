import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createIdentity } from '../../src/identity/identity.ts';
import { corePatientDirectory } from '../../src/identity/patient-picker.ts';
import type { JobWorker } from '../../src/jobs/job-worker.ts';
import { buildComponents } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { awaitManifest, download, ids, kickOff, local } from '../fhir/bulk-export-client.ts';
import { testDatabases } from '../support/databases.ts';
import { FHIR_JSON, json, observation, patient } from '../support/test-app.ts';
import { clientCredentialsToken } from './identity-app.ts';

/**
 * SMART Backend Services (the authorization of export.html): with CONCORDIA_AUTH=required a
 * system client exports with a client_credentials token; the export is bounded by its scopes and
 * only that client may poll, download or cancel it.
 */
describe.each(testDatabases())('bulk export with CONCORDIA_AUTH=required on $name', (database) => {
  let app: FastifyInstance;
  let store: ResourceStore;
  let worker: JobWorker;
  let dataDir: string;
  const bearer: Record<'exporter' | 'observations' | 'other', string> = {
    exporter: '',
    observations: '',
    other: '',
  };
  /** The scope each token response named. */
  const granted: Partial<Record<keyof typeof bearer, string>> = {};
  let patientId = '';
  let observationId = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concordia-bulk-auth-'));
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      CONCORDIA_BASE_URL: 'http://fhir.test',
      CONCORDIA_DATA_DIR: dataDir,
      CONCORDIA_AUTH: 'required',
    });
    const db = await database.create();
    const logger = createLogger(config);
    const components = await buildComponents(db, config, logger);
    ({ store, worker } = components);
    const identity = await createIdentity({ config, db, patients: corePatientDirectory(components.core) });
    app = await buildApp({
      config,
      store,
      core: components.core,
      logger,
      metrics: createMetrics(),
      identity,
    });
    await app.ready();
    worker.start();
    const token = async (name: keyof typeof bearer, scopes: string[], scope: string) => {
      const { client, clientSecret } = await identity.clients.add({ name, kind: 'backend', scopes });
      const { body } = await clientCredentialsToken(app, client.clientId, clientSecret ?? '', scope);
      bearer[name] = `Bearer ${String(body.access_token)}`;
      granted[name] = String(body.scope);
    };
    await token('exporter', ['system/*.rs', 'system/*.c'], 'system/*.rs system/*.c');
    // A bulk client asking for everything, as bdt does with system/*.*, gets what it is registered for.
    await token('observations', ['system/Observation.rs'], 'system/*.*');
    await token('other', ['system/*.rs'], 'system/*.rs');
    const created = await app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: { ...FHIR_JSON, authorization: bearer.exporter },
      payload: patient(),
    });
    patientId = String(json(created.body).id);
    const made = await app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: { ...FHIR_JSON, authorization: bearer.exporter },
      payload: observation(`Patient/${patientId}`),
    });
    observationId = String(json(made.body).id);
  });
  afterAll(async () => {
    await app.close();
    await worker.stop();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a kick-off without a token (401)', async () => {
    const response = await kickOff(app, '/fhir/$export');
    expect(response.statusCode).toBe(401);
  });

  it('exports for a system/*.rs client, whose token alone may poll and download the files', async () => {
    const started = await kickOff(app, '/fhir/$export?_type=Patient,Observation', {
      authorization: bearer.exporter,
    });
    expect(started.statusCode, started.body).toBe(202);
    const statusUrl = String(started.headers['content-location']);
    const manifest = await awaitManifest(app, statusUrl, bearer.exporter);
    expect(manifest.requiresAccessToken).toBe(true);
    const { byType } = await download(app, manifest.output, bearer.exporter);
    expect(ids(byType.get('Patient'))).toEqual([patientId]);
    expect(ids(byType.get('Observation'))).toEqual([observationId]);

    const [file] = manifest.output;
    for (const headers of [{}, { authorization: bearer.other }]) {
      const status = await app.inject({ method: 'GET', url: local(statusUrl), headers });
      expect(status.statusCode).toBe('authorization' in headers ? 403 : 401);
      const download = await app.inject({ method: 'GET', url: local(file?.url ?? ''), headers });
      expect(download.statusCode).toBe('authorization' in headers ? 403 : 401);
      const cancel = await app.inject({ method: 'DELETE', url: local(statusUrl), headers });
      expect(cancel.statusCode).toBe('authorization' in headers ? 403 : 401);
    }
    expect(
      (
        await app.inject({
          method: 'GET',
          url: local(statusUrl),
          headers: { authorization: bearer.exporter },
        })
      ).statusCode,
    ).toBe(200);
  });

  it('answers $job for an export only to its owner: another client gets 404 and cancels nothing (async.html)', async () => {
    const started = await kickOff(app, '/fhir/$export?_type=Patient', { authorization: bearer.exporter });
    expect(started.statusCode, started.body).toBe(202);
    const statusUrl = String(started.headers['content-location']);
    const jobId = new URL(statusUrl).searchParams.get('job') ?? '';
    const jobUrl = `/fhir/$job?id=${encodeURIComponent(jobId)}`;
    for (const method of ['GET', 'DELETE'] as const) {
      const refused = await app.inject({ method, url: jobUrl, headers: { authorization: bearer.other } });
      expect(refused.statusCode, refused.body).toBe(404);
      expect(refused.body).not.toContain('bulk-export');
    }
    const manifest = await awaitManifest(app, statusUrl, bearer.exporter);
    expect(manifest.output.map((entry) => entry.type)).toEqual(['Patient']);
    const owned = await app.inject({
      method: 'GET',
      url: jobUrl,
      headers: { authorization: bearer.exporter },
    });
    expect(owned.statusCode, owned.body).toBe(200);
    expect(json(owned.body).parameter).toEqual(
      expect.arrayContaining([
        { name: 'id', valueString: jobId },
        { name: 'kind', valueCode: 'bulk-export' },
        { name: 'status', valueCode: 'completed' },
      ]),
    );
  });

  it('narrows an export without _type to the types the token may read, and refuses a _type it may not', async () => {
    // backend-services.html#scopes, RFC 6749 §3.3: the grant is narrowed and the response says so.
    expect(granted.observations).toBe('system/Observation.rs');
    const started = await kickOff(app, '/fhir/$export', { authorization: bearer.observations });
    expect(started.statusCode, started.body).toBe(202);
    const manifest = await awaitManifest(
      app,
      String(started.headers['content-location']),
      bearer.observations,
    );
    expect(manifest.output.map((entry) => entry.type)).toEqual(['Observation']);

    const refused = await kickOff(app, '/fhir/$export?_type=Patient', { authorization: bearer.observations });
    expect(refused.statusCode).toBe(403);
    expect(JSON.stringify(json(refused.body))).toContain('Patient');
  });
});
