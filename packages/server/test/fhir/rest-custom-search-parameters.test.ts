/**
 * Custom SearchParameter resources (http://hl7.org/fhir/R4/searchparameter.html) and `$reindex`
 * over HTTP: a parameter is checked when written, indexed by every later write, searchable once a
 * reindex job covering its types completed, listed in the CapabilityStatement, and gone with its
 * index rows after it is deleted.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomSearchParameters } from '../../src/fhir/custom-search-parameters.ts';
import { searchParameterSource } from '../../src/store/search-parameter-rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, patient, type TestApp } from '../support/test-app.ts';
import { createResource, list, matchIds, outcomeIssues, searchBundle, uniqueName } from './search-helpers.ts';

const NICKNAME = 'https://concordia.example/fhir/StructureDefinition/nickname';

function nicknameParameter(code: string, overrides: Record<string, unknown> = {}): FhirResource {
  return {
    resourceType: 'SearchParameter',
    url: `https://concordia.example/fhir/SearchParameter/${code}`,
    name: code,
    status: 'active',
    description: 'The name a patient prefers to be called by',
    code,
    base: ['Patient'],
    type: 'string',
    expression: `Patient.extension.where(url = '${NICKNAME}').value`,
    ...overrides,
  };
}

function nicknamed(nickname: string, family: string): FhirResource {
  return { ...patient({ family }), extension: [{ url: NICKNAME, valueString: nickname }] };
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

for (const database of testDatabases()) {
  describe(`custom SearchParameters and $reindex on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    async function post(url: string, payload?: unknown, headers: Record<string, string> = {}) {
      return t.app.inject({
        method: 'POST',
        url,
        headers: { ...FHIR_JSON, ...headers },
        ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
      });
    }

    /** Starts a reindex and polls its status URL until the job has ended (at most 400 polls). */
    async function reindex(url: string, payload?: unknown): Promise<Record<string, unknown>> {
      const accepted = await post(url, payload);
      expect(accepted.statusCode, accepted.body).toBe(202);
      const location = String(accepted.headers['content-location']);
      expect(location).toMatch(/^http:\/\/fhir\.test\/fhir\/\$job\?id=[0-9a-f-]{36}$/);
      return pollJob(location.replace('http://fhir.test', ''));
    }

    async function pollJob(path: string): Promise<Record<string, unknown>> {
      for (let poll = 0; poll < 400; poll++) {
        const status = await t.app.inject({ method: 'GET', url: path });
        if (status.statusCode === 200) return json(status.body);
        expect(status.statusCode, status.body).toBe(202);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`job ${path} did not finish after 400 polls`);
    }

    function parameter(parameters: Record<string, unknown>, ...path: string[]): unknown {
      let current: unknown = parameters;
      for (const name of path) {
        const found = list(at(current, 'parameter') ?? at(current, 'part')).find(
          (candidate) => at(candidate, 'name') === name,
        );
        current = found;
      }
      const value = Object.entries(typeof current === 'object' && current !== null ? current : {}).find(
        ([key]) => key.startsWith('value'),
      );
      return value?.[1];
    }

    async function capabilityParams(type: string): Promise<unknown[]> {
      const response = await t.app.inject({ method: 'GET', url: '/fhir/metadata' });
      const resources = list(at(json(response.body), 'rest', 0, 'resource'));
      return list(
        at(
          resources.find((resource) => at(resource, 'type') === type),
          'searchParam',
        ),
      );
    }

    it('takes a new parameter through its lifecycle: indexing, $reindex, searchable, listed, deleted', async () => {
      const family = uniqueName('Custom');
      const code = uniqueName('nick').toLowerCase();
      const before = await createResource(t, nicknamed('Sasha', family));
      await createResource(t, nicknamed('Oles', family));

      const created = await post('/fhir/SearchParameter', nicknameParameter(code));
      expect(created.statusCode, created.body).toBe(201);
      const searchParameterId = String(json(created.body).id);

      // Registered, but older Patients have no index rows yet: the search says so.
      const lenient = await searchBundle(t, `/fhir/Patient?family=${family}&${code}=Sasha`);
      expect(outcomeIssues(lenient)).toEqual([
        expect.objectContaining({
          severity: 'warning',
          code: 'not-supported',
          expression: [code],
          diagnostics: expect.stringContaining('is being indexed'),
        }),
      ]);
      const strict = await t.app.inject({
        method: 'GET',
        url: `/fhir/Patient?family=${family}&${code}=Sasha`,
        headers: { prefer: 'handling=strict' },
      });
      expect(strict.statusCode).toBe(400);
      expect(at(json(strict.body), 'issue', 0, 'expression')).toEqual([code]);
      expect((await capabilityParams('Patient')).map((p) => at(p, 'name'))).not.toContain(code);

      // A write after the parameter exists is indexed at once.
      const after = await createResource(t, nicknamed('Sashko', family));

      const status = await reindex('/fhir/Patient/$reindex');
      expect(parameter(status, 'status')).toBe('completed');
      expect(parameter(status, 'kind')).toBe('reindex');
      expect(parameter(status, 'progress', 'percentage')).toBe(100);
      expect(parameter(status, 'progress', 'done')).toBe(parameter(status, 'progress', 'total'));

      const found = await searchBundle(t, `/fhir/Patient?family=${family}&${code}=Sash`);
      expect(outcomeIssues(found)).toEqual([]);
      expect(matchIds(found).sort()).toEqual([before, after].sort());
      const exact = await searchBundle(t, `/fhir/Patient?family=${family}&${code}:exact=Sasha`);
      expect(matchIds(exact)).toEqual([before]);
      // Reindexing rewrote index rows only: no new version.
      const read = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${before}` });
      expect(at(json(read.body), 'meta', 'versionId')).toBe('1');

      expect(await capabilityParams('Patient')).toContainEqual(
        expect.objectContaining({
          name: code,
          type: 'string',
          definition: `https://concordia.example/fhir/SearchParameter/${code}`,
        }),
      );

      const deleted = await t.app.inject({
        method: 'DELETE',
        url: `/fhir/SearchParameter/${searchParameterId}`,
      });
      expect(deleted.statusCode).toBe(204);
      const gone = await searchBundle(t, `/fhir/Patient?family=${family}&${code}=Sasha`);
      expect(outcomeIssues(gone)).toEqual([
        expect.objectContaining({ diagnostics: expect.stringContaining('Unknown search parameter') }),
      ]);
      expect((await capabilityParams('Patient')).map((p) => at(p, 'name'))).not.toContain(code);
      // The server queued a reindex of Patient that drops the parameter's rows.
      const cleanup = await waitForJobs(t);
      expect(cleanup.some((job) => job.status === 'completed' && job.kind === 'reindex')).toBe(true);
      const [rows] = await t.database.query(
        sql`select count(*) as count from search_string where param = ${code}`,
      );
      expect(rows?.count).toBe(0);
    });

    it('refuses a SearchParameter whose expression cannot be evaluated, naming the element (422)', async () => {
      const cases: [Record<string, unknown>, string, string][] = [
        [{ expression: 'Patient.name.(' }, 'SearchParameter.expression', 'mismatched input'],
        [
          { expression: 'Patient.nickname' },
          'SearchParameter.expression',
          "Patient has no element 'nickname'",
        ],
        [{ expression: 'Patient.name.unknownFunction()' }, 'SearchParameter.expression', 'unknownFunction'],
        [
          { expression: 'Observation.code' },
          'SearchParameter.expression',
          'starts from Observation, not Patient',
        ],
        [
          { base: ['Patient', 'Practitioner'], expression: 'Patient.gender' },
          'SearchParameter.expression',
          'No alternative',
        ],
        [{ code: 'name' }, 'SearchParameter.code', 'already has a search parameter'],
        [{ code: 'bad:code' }, 'SearchParameter.code', 'code must start with a letter'],
        [{ base: ['Nothing'] }, 'SearchParameter.base[0]', "'Nothing' is not a resource type"],
        [{ type: 'composite' }, 'SearchParameter.type', 'cannot be indexed'],
      ];
      for (const [overrides, expression, diagnostics] of cases) {
        const response = await post('/fhir/SearchParameter', nicknameParameter(uniqueName('bad'), overrides));
        expect(response.statusCode, JSON.stringify(overrides)).toBe(422);
        const issue = at(json(response.body), 'issue', 0);
        expect(at(issue, 'expression'), JSON.stringify(overrides)).toEqual([expression]);
        expect(String(at(issue, 'diagnostics'))).toContain(diagnostics);
      }
      // Inside a transaction the whole Bundle fails and nothing is stored.
      const family = uniqueName('Tx');
      const bundle = await post('/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: patient({ family }), request: { method: 'POST', url: 'Patient' } },
          {
            resource: nicknameParameter(uniqueName('bad'), { expression: 'Patient.name.(' }),
            request: { method: 'POST', url: 'SearchParameter' },
          },
        ],
      });
      expect(bundle.statusCode).toBe(422);
      expect(matchIds(await searchBundle(t, `/fhir/Patient?family=${family}`))).toEqual([]);
      // A retired one is data: stored, never registered, so not checked.
      const retired = await post(
        '/fhir/SearchParameter',
        nicknameParameter('retiredone', { status: 'retired', expression: 'Patient.whatever' }),
      );
      expect(retired.statusCode).toBe(201);
    });

    it('reindexes one type, or the types of one searchParameter, as jobs with a status URL', async () => {
      const subject = `Patient/${await createResource(t, patient({ family: uniqueName('Obs') }))}`;
      await createResource(t, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: subject },
      });
      const [counted] = await t.database.query(
        sql`select count(*) as count from resource where resource_type = 'Observation' and not deleted`,
      );

      const byType = await reindex('/fhir/Observation/$reindex');
      expect(parameter(byType, 'status')).toBe('completed');
      expect(parameter(byType, 'result', 'resources')).toBe(counted?.count);
      expect(parameter(byType, 'result', 'types')).toBe(1);

      const code = uniqueName('nick').toLowerCase();
      expect((await post('/fhir/SearchParameter', nicknameParameter(code))).statusCode).toBe(201);
      const bySearchParameter = await reindex('/fhir/$reindex', {
        resourceType: 'Parameters',
        parameter: [
          { name: 'searchParameter', valueUri: `https://concordia.example/fhir/SearchParameter/${code}` },
        ],
      });
      expect(parameter(bySearchParameter, 'status')).toBe('completed');
      const jobId = String(parameter(bySearchParameter, 'id'));
      expect((await t.jobs.get(jobId))?.params).toMatchObject({ types: ['Patient'] });

      const unknown = await post('/fhir/$reindex?searchParameter=no-such-parameter');
      expect(unknown.statusCode).toBe(400);
      expect(at(json(unknown.body), 'issue', 0, 'expression')).toEqual(['searchParameter']);
      expect((await t.app.inject({ method: 'GET', url: '/fhir/$reindex' })).statusCode).toBe(405);
      const missing = await t.app.inject({
        method: 'GET',
        url: '/fhir/$job?id=00000000-0000-4000-8000-000000000000',
      });
      expect(missing.statusCode).toBe(404);
    });

    it('cancels a queued reindex job with DELETE on its status URL', async () => {
      // A node whose worker is stopped: the job stays queued until someone cancels it.
      const idle = await createTestApp(database);
      try {
        await idle.worker.stop();
        const accepted = await idle.app.inject({ method: 'POST', url: '/fhir/Patient/$reindex' });
        expect(accepted.statusCode).toBe(202);
        const path = String(accepted.headers['content-location']).replace('http://fhir.test', '');
        const queued = await idle.app.inject({ method: 'GET', url: path });
        expect(queued.statusCode).toBe(202);
        expect(parameter(json(queued.body), 'status')).toBe('queued');
        expect(parameter(json(queued.body), 'progress', 'percentage')).toBeUndefined();
        const cancelled = await idle.app.inject({ method: 'DELETE', url: path });
        expect(cancelled.statusCode).toBe(200);
        expect(parameter(json(cancelled.body), 'status')).toBe('cancelled');
      } finally {
        await idle.close();
      }
    });

    it('lets another node pick the parameter up from the database', async () => {
      const code = uniqueName('nick').toLowerCase();
      expect((await post('/fhir/SearchParameter', nicknameParameter(code))).statusCode).toBe(201);
      const otherNode = new CustomSearchParameters({
        source: searchParameterSource(t.database),
        logger: quiet,
        refreshIntervalMs: 1000,
      });
      await otherNode.refresh();
      expect(otherNode.registry.get('Patient', code)).toMatchObject({ type: 'string', indexing: true });
      expect(otherNode.registry.get('Practitioner', code)).toBeUndefined();
    });
  });
}

/** Waits until no job is queued or running (at most 400 polls), and returns them all. */
async function waitForJobs(t: TestApp) {
  for (let poll = 0; poll < 400; poll++) {
    const jobs = await t.jobs.list();
    if (jobs.every((job) => job.status !== 'queued' && job.status !== 'running')) return jobs;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('jobs still running after 400 polls');
}
