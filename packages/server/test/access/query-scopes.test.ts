/**
 * SMART v2 query-restricted scopes on every door (scopes-and-launch-context.html, "Finer-grained
 * resource constraints using search parameters"): `system/Observation.rs?category=…|laboratory`
 * reaches exactly the Observations that search matches — by read, vread, search with or without the
 * criteria, `_include`/`_revinclude`, chains and `_has`, history, compartment search, `$everything`
 * and `$export` — and writes only such Observations. Real tokens (client credentials, and the
 * authorization code flow for a patient), the real HTTP door, on PGlite and PostgreSQL.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import { awaitManifest, download, kickOff } from '../fhir/bulk-export-client.ts';
import { clientCredentialsToken } from '../identity/identity-app.ts';
import { testDatabases } from '../support/databases.ts';
import { type AccessTestApp, createAccessTestApp } from './access-app.ts';

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const LAB = `${CATEGORY}|laboratory`;
const VITALS = `${CATEGORY}|vital-signs`;
const TAG = 'http://example.org/tags|shared';

function observation(id: string, category: string, patient = 'pat-1'): FhirResource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: category }] }],
    code: { text: id },
    subject: { reference: `Patient/${patient}` },
  };
}

const DATA: FhirResource[] = [
  { resourceType: 'Patient', id: 'pat-1', name: [{ family: 'Lindqvist' }] },
  { resourceType: 'Patient', id: 'pat-2', name: [{ family: 'Okafor' }] },
  observation('lab-1', 'laboratory'),
  observation('vital-1', 'vital-signs'),
  observation('imaging-1', 'imaging'),
  observation('vital-2', 'vital-signs', 'pat-2'),
  {
    resourceType: 'DiagnosticReport',
    id: 'report-1',
    status: 'final',
    code: { text: 'Panel' },
    subject: { reference: 'Patient/pat-1' },
    result: [{ reference: 'Observation/lab-1' }, { reference: 'Observation/vital-1' }],
  },
  {
    resourceType: 'Encounter',
    id: 'enc-tagged',
    meta: { tag: [{ system: 'http://example.org/tags', code: 'shared' }] },
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: 'Patient/pat-1' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-untagged',
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: 'Patient/pat-1' },
  },
];

interface Entry {
  resource?: { resourceType: string; id: string };
}

function refs(body: string): string[] {
  const bundle = JSON.parse(body) as { entry?: Entry[] };
  return [
    ...new Set(
      (bundle.entry ?? [])
        .filter((entry) => entry.resource !== undefined && entry.resource.resourceType !== 'OperationOutcome')
        .map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`),
    ),
  ].sort();
}

describe.each(testDatabases())('v2 query-restricted scopes on $name', (database) => {
  let t: AccessTestApp;
  let labOnly: string;
  beforeAll(async () => {
    t = await createAccessTestApp(database);
    await t.put(DATA);
    labOnly = await t.clientToken({
      name: 'lab-only',
      scopes: [`system/Observation.rs?category=${LAB}`, 'system/Patient.rs', 'system/DiagnosticReport.rs'],
    });
  }, 120_000);
  afterAll(() => t.close());

  const request = (
    authorization: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: unknown,
  ) =>
    t.app.inject({
      method,
      url,
      headers: {
        authorization,
        ...(payload !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
      },
      ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
    });
  const get = (authorization: string, url: string) => request(authorization, 'GET', url);
  const found = async (authorization: string, url: string) => {
    const response = await get(authorization, url);
    expect(response.statusCode, response.body).toBe(200);
    return refs(response.body);
  };

  it('read, vread and instance history answer 200 inside the restriction and 404 outside, as another access rule does', async () => {
    for (const url of ['/fhir/Observation/lab-1', '/fhir/Observation/lab-1/_history/1']) {
      expect((await get(labOnly, url)).statusCode, url).toBe(200);
    }
    expect(await found(labOnly, '/fhir/Observation/lab-1/_history')).toEqual(['Observation/lab-1']);
    for (const url of [
      '/fhir/Observation/vital-1',
      '/fhir/Observation/vital-1/_history/1',
      '/fhir/Observation/vital-1/_history',
      '/fhir/Observation/does-not-exist',
    ]) {
      expect((await get(labOnly, url)).statusCode, url).toBe(404);
    }
  });

  it('search returns only matching resources, whether or not it repeats the criteria', async () => {
    expect(await found(labOnly, '/fhir/Observation')).toEqual(['Observation/lab-1']);
    expect(await found(labOnly, `/fhir/Observation?category=${encodeURIComponent(LAB)}`)).toEqual([
      'Observation/lab-1',
    ]);
    expect(await found(labOnly, `/fhir/Observation?category=${encodeURIComponent(VITALS)}`)).toEqual([]);
    const total = await get(labOnly, '/fhir/Observation?_summary=count');
    expect(JSON.parse(total.body).total).toBe(1);
  });

  it('_include and _revinclude bring in only matching resources', async () => {
    expect(await found(labOnly, '/fhir/DiagnosticReport?_include=DiagnosticReport:result')).toEqual([
      'DiagnosticReport/report-1',
      'Observation/lab-1',
    ]);
    expect(await found(labOnly, '/fhir/Patient?_id=pat-1&_revinclude=Observation:subject')).toEqual([
      'Observation/lab-1',
      'Patient/pat-1',
    ]);
  });

  it('chains and _has match only through resources the restriction covers', async () => {
    expect(await found(labOnly, '/fhir/DiagnosticReport?result.code:text=vital-1')).toEqual([]);
    expect(await found(labOnly, '/fhir/DiagnosticReport?result.code:text=lab-1')).toEqual([
      'DiagnosticReport/report-1',
    ]);
    // pat-2 has a vital-signs Observation only: invisible, so it cannot make pat-2 match.
    expect(await found(labOnly, '/fhir/Patient?_has:Observation:subject:status=final')).toEqual([
      'Patient/pat-1',
    ]);
  });

  it('type and system history list only versions of matching resources', async () => {
    expect(await found(labOnly, '/fhir/Observation/_history')).toEqual(['Observation/lab-1']);
  });

  it('compartment search returns only matching resources', async () => {
    expect(await found(labOnly, '/fhir/Patient/pat-1/Observation')).toEqual(['Observation/lab-1']);
  });

  describe('with a query-restricted * scope beside type scopes', () => {
    // `*` restricted by tag: every type no scope names is restricted by it; Patient, named by an
    // unrestricted scope, is not; Observation by its own restriction.
    let token: string;
    beforeAll(async () => {
      token = await t.clientToken({
        name: 'everything',
        scopes: [`system/*.rs?_tag=${TAG}`, 'system/Patient.rs', `system/Observation.rs?category=${LAB}`],
      });
    });

    it('$everything returns only what the scopes cover', async () => {
      expect(await found(token, '/fhir/Patient/pat-1/$everything')).toEqual([
        'Encounter/enc-tagged',
        'Observation/lab-1',
        'Patient/pat-1',
      ]);
    });

    it('system history and system search list only what the scopes cover', async () => {
      const expected = ['Encounter/enc-tagged', 'Observation/lab-1', 'Patient/pat-1', 'Patient/pat-2'];
      expect(await found(token, '/fhir/_history?_count=500')).toEqual(expected);
      expect(await found(token, '/fhir?_count=500')).toEqual(expected);
    });

    it('$export exports only what the scopes cover', async () => {
      const kicked = await kickOff(
        t.app,
        '/fhir/$export?_type=Patient,Observation,Encounter,DiagnosticReport',
        {
          authorization: token,
        },
      );
      expect(kicked.statusCode, kicked.body).toBe(202);
      const manifest = await awaitManifest(t.app, String(kicked.headers['content-location']), token);
      const { byType } = await download(t.app, manifest.output, token);
      const exported = [...byType.values()]
        .flat()
        .map((resource) => `${String(resource.resourceType)}/${String(resource.id)}`)
        .sort();
      expect(exported).toEqual([
        'Encounter/enc-tagged',
        'Observation/lab-1',
        'Patient/pat-1',
        'Patient/pat-2',
      ]);
    }, 30_000);
  });

  it('scopes add up: two restricted scopes reach both, an unrestricted one reaches all', async () => {
    const both = await t.clientToken({
      name: 'lab-and-vitals',
      scopes: [`system/Observation.rs?category=${LAB}`, `system/Observation.rs?category=${VITALS}`],
    });
    expect(await found(both, '/fhir/Observation')).toEqual([
      'Observation/lab-1',
      'Observation/vital-1',
      'Observation/vital-2',
    ]);
    expect((await get(both, '/fhir/Observation/imaging-1')).statusCode).toBe(404);
    const all = await t.clientToken({
      name: 'lab-and-all',
      scopes: [`system/Observation.rs?category=${LAB}`, 'system/Observation.rs'],
    });
    expect(await found(all, '/fhir/Observation')).toEqual([
      'Observation/imaging-1',
      'Observation/lab-1',
      'Observation/vital-1',
      'Observation/vital-2',
    ]);
  });

  it('keeps a patient/ token inside its patient and its restriction together', async () => {
    const token = await t.signIn({
      username: 'lindqvist',
      roles: ['patient'],
      fhirUser: 'Patient/pat-1',
      scope: `openid fhirUser launch/patient patient/Patient.rs patient/Observation.rs?category=${LAB}`,
    });
    expect((await get(token, '/fhir/Observation/lab-1')).statusCode).toBe(200);
    expect((await get(token, '/fhir/Observation/vital-1')).statusCode).toBe(404);
    expect(await found(token, '/fhir/Observation?patient=pat-1')).toEqual(['Observation/lab-1']);
    expect(await found(token, '/fhir/Patient/pat-1/Observation')).toEqual(['Observation/lab-1']);
  }, 60_000);

  describe('writes (c, u, d): the resource written, and the one replaced or deleted, must match', () => {
    let writer: string;
    beforeAll(async () => {
      writer = await t.clientToken({
        name: 'lab-writer',
        scopes: [`system/Observation.cruds?category=${LAB}`, 'system/Patient.rs'],
      });
      await t.put([observation('lab-w1', 'laboratory'), observation('lab-w2', 'laboratory')]);
      await t.put([observation('vital-w1', 'vital-signs'), observation('lab-w3', 'laboratory')]);
    });
    const stored = async (id: string) =>
      (
        await t.core.handle(systemContext('query-scopes-test'), {
          method: 'GET',
          path: `Observation/${id}`,
          query: [],
          headers: {},
        })
      ).status;

    it('creates a matching resource and refuses one that does not match (403)', async () => {
      const { id: _lab, ...lab } = observation('x', 'laboratory');
      expect((await request(writer, 'POST', '/fhir/Observation', lab)).statusCode).toBe(201);
      const { id: _vital, ...vital } = observation('x', 'vital-signs');
      const refused = await request(writer, 'POST', '/fhir/Observation', vital);
      expect(refused.statusCode, refused.body).toBe(403);
    });

    it('updates a matching resource, and refuses to turn it into one that does not match', async () => {
      expect(
        (await request(writer, 'PUT', '/fhir/Observation/lab-w1', observation('lab-w1', 'laboratory')))
          .statusCode,
      ).toBe(200);
      const moved = await request(
        writer,
        'PUT',
        '/fhir/Observation/lab-w2',
        observation('lab-w2', 'vital-signs'),
      );
      expect(moved.statusCode, moved.body).toBe(403);
      expect((await found(writer, '/fhir/Observation?_id=lab-w2')).length).toBe(1);
    });

    it('refuses to update or delete a resource outside the restriction', async () => {
      const update = await request(
        writer,
        'PUT',
        '/fhir/Observation/vital-w1',
        observation('vital-w1', 'laboratory'),
      );
      expect([403, 409]).toContain(update.statusCode);
      await request(writer, 'DELETE', '/fhir/Observation/vital-w1');
      expect(await stored('vital-w1')).toBe(200);
      expect((await request(writer, 'DELETE', '/fhir/Observation/lab-w3')).statusCode).toBeLessThan(300);
      expect(await stored('lab-w3')).toBe(410);
    });

    it('holds transaction entries to it too', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'POST', url: 'Observation' }, resource: observation('t1', 'laboratory') },
          { request: { method: 'POST', url: 'Observation' }, resource: observation('t2', 'vital-signs') },
        ],
      };
      const response = await request(writer, 'POST', '/fhir', bundle);
      expect(response.statusCode, response.body).toBe(403);
    });
  });

  it('refuses a token request whose scope criteria are not a valid search (invalid_scope)', async () => {
    const { client, clientSecret } = await t.identity.clients.add({
      name: 'asks-nonsense',
      kind: 'backend',
      scopes: ['system/Observation.rs'],
    });
    for (const scope of [
      'system/Observation.rs?nonsense=1',
      'system/Observation.rs?category=x&_sort=date',
      'system/Observation.rs?subject:Patient.name=x',
    ]) {
      const { status, body } = await clientCredentialsToken(
        t.app,
        client.clientId,
        clientSecret ?? '',
        scope,
      );
      expect(status, scope).toBe(400);
      expect(body.error).toBe('invalid_scope');
    }
  });
});
