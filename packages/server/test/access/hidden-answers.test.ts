/**
 * `CONCORDIA_ACCESS_HIDDEN` over HTTP: what a request by id answers when its target exists but the
 * access decision hides it (issue 6: "a clear 403 OperationOutcome (or 404 where revealing
 * existence would itself leak, configurable)"). `not-found` (the default) answers as for an id
 * that never existed; `forbidden` answers 403 `forbidden` on read, vread, instance history,
 * update, patch, delete and `Patient/{id}/$everything`. Searches leave hidden records out in both
 * modes, and both record the request as a denial in the audit.
 */
import { isRecord } from '@concordia/fhir';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import { testDatabases } from '../support/databases.ts';
import { type AccessTestApp, createAccessTestApp } from './access-app.ts';
import { observation } from './access-fixtures.ts';
import { SCENARIO } from './scenario.ts';

const FHIR_JSON = { 'content-type': 'application/fhir+json' };
const JSON_PATCH = { 'content-type': 'application/json-patch+json' };
const PATCH = [{ op: 'replace', path: '/status', value: 'amended' }];

describe.each(testDatabases())('answers for hidden records on $name', (database) => {
  let quiet: AccessTestApp;
  let loud: AccessTestApp;
  let quietDoctor: string;
  let loudDoctor: string;

  const doctor = {
    username: 'dr-hidden',
    roles: ['family-doctor' as const],
    fhirUser: 'Practitioner/doc',
    organization: 'Organization/org-clinic',
  };

  beforeAll(async () => {
    quiet = await createAccessTestApp(database);
    loud = await createAccessTestApp(database, { CONCORDIA_ACCESS_HIDDEN: 'forbidden' });
    await quiet.put(SCENARIO);
    await loud.put(SCENARIO);
    quietDoctor = await quiet.signIn(doctor);
    loudDoctor = await loud.signIn(doctor);
  }, 120_000);
  afterAll(async () => {
    await quiet?.close();
    await loud?.close();
  });

  function send(
    t: AccessTestApp,
    token: string,
    method: 'GET' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
  ): Promise<LightMyRequestResponse> {
    return t.app.inject({
      method,
      url,
      headers: {
        authorization: token,
        ...(method === 'PATCH' ? JSON_PATCH : body !== undefined ? FHIR_JSON : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
  }

  // The doctor is declared with pat-a only: pat-b's record is hidden from him.
  const requests = (id: string) =>
    [
      ['read', 'GET', `/fhir/Observation/${id}`],
      ['vread', 'GET', `/fhir/Observation/${id}/_history/1`],
      ['instance history', 'GET', `/fhir/Observation/${id}/_history`],
      ['update', 'PUT', `/fhir/Observation/${id}`, observation({ id, patient: 'pat-b' })],
      ['patch', 'PATCH', `/fhir/Observation/${id}`, PATCH],
      ['delete', 'DELETE', `/fhir/Observation/${id}`],
    ] as const;

  it('answers 403 forbidden with an OperationOutcome for every interaction by id on a hidden record (forbidden mode)', async () => {
    for (const [name, method, url, body] of requests('obs-b1')) {
      const response = await send(loud, loudDoctor, method, url, body);
      expect(response.statusCode, `${name}: ${response.body}`).toBe(403);
      const outcome = JSON.parse(response.body);
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'forbidden' });
    }
    const everything = await send(loud, loudDoctor, 'GET', '/fhir/Patient/pat-b/$everything');
    expect(everything.statusCode, everything.body).toBe(403);
    // Nothing was written: the hidden Observation is as it was.
    const stored = await loud.store.read(systemContext('check'), 'Observation', 'obs-b1');
    expect(stored).toMatchObject({ versionId: 1, deleted: false });
  });

  it('still answers 404 for an id that does not exist, and serves what the doctor may read (forbidden mode)', async () => {
    expect((await send(loud, loudDoctor, 'GET', '/fhir/Observation/obs-zz')).statusCode).toBe(404);
    expect((await send(loud, loudDoctor, 'GET', '/fhir/Observation/obs-a1/_history/9')).statusCode).toBe(404);
    expect((await send(loud, loudDoctor, 'GET', '/fhir/Patient/pat-zz/$everything')).statusCode).toBe(404);
    expect((await send(loud, loudDoctor, 'GET', '/fhir/Observation/obs-a1')).statusCode).toBe(200);
    expect((await send(loud, loudDoctor, 'GET', '/fhir/Patient/pat-a/$everything')).statusCode).toBe(200);
  });

  it('answers a hidden record as a missing one by default: 404, the update’s 409, the delete’s no-op (not-found mode)', async () => {
    for (const [name, method, url, body] of requests('obs-b1')) {
      const hidden = await send(quiet, quietDoctor, method, url, body);
      const missing = await send(quiet, quietDoctor, method, url.replace('obs-b1', 'obs-zz'), body);
      expect(hidden.statusCode, `${name}: ${hidden.body}`).not.toBe(403);
      if (method === 'PUT') expect(hidden.statusCode).toBe(409);
      else if (method === 'DELETE') expect(hidden.statusCode).toBe(missing.statusCode);
      else {
        expect(hidden.statusCode, name).toBe(404);
        expect(hidden.body.replaceAll('obs-b1', 'X')).toBe(missing.body.replaceAll('obs-zz', 'X'));
      }
    }
    expect((await send(quiet, quietDoctor, 'GET', '/fhir/Patient/pat-b/$everything')).statusCode).toBe(404);
    const stored = await quiet.store.read(systemContext('check'), 'Observation', 'obs-b1');
    expect(stored).toMatchObject({ versionId: 1, deleted: false });
  });

  it('leaves hidden records out of searches in both modes (search.html: no count, no entry)', async () => {
    for (const [t, token] of [
      [quiet, quietDoctor],
      [loud, loudDoctor],
    ] as const) {
      const response = await send(t, token, 'GET', '/fhir/Observation?subject=Patient/pat-b&_total=accurate');
      expect(response.statusCode).toBe(200);
      const bundle = JSON.parse(response.body);
      expect(bundle.entry ?? []).toEqual([]);
      expect(bundle.total ?? 0).toBe(0);
    }
  });

  it('audits a request for a hidden record as a denial in both modes', async () => {
    for (const [t, token, status] of [
      [quiet, quietDoctor, 404],
      [loud, loudDoctor, 403],
    ] as const) {
      // obs-b2 does not exist: a miss, not a denial.
      expect((await send(t, token, 'GET', '/fhir/Observation/obs-b2')).statusCode).toBe(404);
      expect((await send(t, token, 'GET', '/fhir/AllergyIntolerance/alg-b')).statusCode).toBe(status);
      const deleted = await send(t, token, 'DELETE', '/fhir/MedicationRequest/rx-b');
      expect(deleted.statusCode).toBe(status === 404 ? 204 : 403);
      // Besides the denial, each record has one event: its creation by the scenario loader (0).
      const reads = await auditEvents(t, 'AllergyIntolerance/alg-b');
      expect(reads.map((event) => event.outcome).sort()).toEqual(['0', '4']);
      expect(reads.find((event) => event.outcome === '4')?.outcomeDesc).toBe(
        'AllergyIntolerance/alg-b is outside the records this principal may access',
      );
      const deletes = await auditEvents(t, 'MedicationRequest/rx-b');
      expect(deletes.map((event) => event.outcome).sort()).toEqual(['0', '4']);
      const misses = await auditEvents(t, 'Observation/obs-b2');
      expect(misses.map((event) => event.outcomeDesc)).toEqual(['Observation/obs-b2 is not known']);
    }
  });

  async function auditEvents(t: AccessTestApp, entity: string): Promise<Record<string, unknown>[]> {
    const response = await t.core.handle(systemContext('auditor'), {
      method: 'GET',
      path: 'AuditEvent',
      query: [['entity', entity]],
      headers: {},
    });
    expect(response.status).toBe(200);
    const body = response.body;
    const bundle: unknown = body?.kind === 'json' ? JSON.parse(body.json) : body?.resource;
    if (!isRecord(bundle) || !Array.isArray(bundle.entry)) return [];
    return bundle.entry.flatMap((entry: unknown) =>
      isRecord(entry) && isRecord(entry.resource) ? [entry.resource] : [],
    );
  }
});
