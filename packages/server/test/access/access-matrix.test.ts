/**
 * The leak-path matrix of issue 6: for every role and every door that can return, count or test
 * the existence of a resource, nothing outside the role's rule comes back (access/access-policy.ts).
 * Real tokens (authorization code flow with MFA, client credentials), the real HTTP door, on PGlite
 * and PostgreSQL. Expectations are the hand-written sets of scenario.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import { awaitManifest, download, kickOff } from '../fhir/bulk-export-client.ts';
import { testDatabases } from '../support/databases.ts';
import { type AccessTestApp, createAccessTestApp } from './access-app.ts';
import { PATIENT_DATA, ROLE_CASES, type RoleCase, SCENARIO, SHARED } from './scenario.ts';

const TYPES = [...new Set(PATIENT_DATA.map((ref) => ref.split('/')[0] ?? ''))].sort();

/** The compartment each patient-specific resource of the scenario belongs to. */
const COMPARTMENT_OF = new Map<string, string>(
  SCENARIO.flatMap((resource) => {
    const ref = `${resource.resourceType}/${String(resource.id)}`;
    const text = JSON.stringify(resource);
    const patient =
      resource.resourceType === 'Patient' ? String(resource.id) : /"Patient\/(pat-[a-d])"/.exec(text)?.[1];
    return patient === undefined ? [] : [[ref, patient] as const];
  }),
);

interface Entry {
  fullUrl?: string;
  resource?: { resourceType: string; id: string };
  response?: { status: string };
  search?: { mode: string };
}

function refs(body: string): string[] {
  const bundle = JSON.parse(body) as { entry?: Entry[] };
  return (bundle.entry ?? [])
    .filter((entry) => entry.resource !== undefined && entry.resource.resourceType !== 'OperationOutcome')
    .map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`)
    .sort();
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

describe.each(testDatabases())('the access decision on every door on $name', (database) => {
  let t: AccessTestApp;
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    t = await createAccessTestApp(database);
    await t.put(SCENARIO);
    for (const [index, role] of ROLE_CASES.entries()) {
      // A hidden resource per role for the conditional update below (pat-c's: hidden from all but
      // break-the-glass).
      await t.put([
        {
          resourceType: 'Flag',
          id: `flag-${index}`,
          status: 'active',
          code: { text: 'Fall risk' },
          subject: { reference: 'Patient/pat-c' },
        },
      ]);
      const token =
        role.client !== undefined
          ? await t.clientToken({
              name: role.name,
              scopes: ['system/*.cruds'],
              organization: role.client.organization,
            })
          : await t.signIn({ username: `user-${index}`, ...(role.user ?? { roles: [] }) });
      tokens.set(role.name, token);
    }
  }, 300_000);
  afterAll(() => t.close());

  describe.each(ROLE_CASES.map((role, index) => ({ ...role, index })))(
    '$name',
    (role: RoleCase & { index: number }) => {
      const sees = new Set([...role.sees, ...SHARED]);
      const breakGlass = role.headers !== undefined;
      const scopeBound = role.scopePatient !== undefined;
      /** A 403 of the scope check (patient/ scopes): the request returned nothing at all. */
      const refusedByScope = (status: number) => scopeBound && status === 403;
      /** A Patient other than the token's own, which a patient/ scope refuses by its URL. */
      const otherPatient = (ref: string) =>
        ref.startsWith('Patient/') && ref !== `Patient/${role.scopePatient}`;
      const request = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
        t.app.inject({
          method,
          url,
          headers: {
            authorization: tokens.get(role.name) ?? '',
            ...(role.headers ?? {}),
            ...(payload !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
          },
          ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
        });
      const get = (url: string) => request('GET', url);
      /** The refs a door returned that the role may not see (should be none). */
      const leaks = (found: readonly string[]) =>
        found.filter((ref) => !sees.has(ref) && (PATIENT_DATA.includes(ref) || !breakGlass));

      it('read and vread answer 200 inside the rule and 404 outside it (existence does not leak)', async () => {
        const wrong: string[] = [];
        for (const ref of [...PATIENT_DATA, ...SHARED]) {
          const expected = sees.has(ref) ? 200 : 404;
          for (const url of [`/fhir/${ref}`, `/fhir/${ref}/_history/1`, `/fhir/${ref}/_history`]) {
            const response = await get(url);
            // patient/ scopes refuse a read of another Patient: the URL shows it (scope-decision.ts).
            // Other types are read under the decision, confined to the token's patient: 200 or 404.
            if (refusedByScope(response.statusCode) && otherPatient(ref)) continue;
            if (response.statusCode !== expected) wrong.push(`${url} → ${response.statusCode}`);
          }
        }
        expect(wrong).toEqual([]);
      });

      it('search, _total=accurate and _summary=count return and count only what the rule allows', async () => {
        for (const type of TYPES) {
          const expected = sorted(role.sees.filter((ref) => ref.startsWith(`${type}/`)));
          // Patient-scoped tokens search inside their record: the compartment's members there.
          const path = !scopeBound
            ? `/fhir/${type}?`
            : type === 'Patient'
              ? `/fhir/Patient?_id=${role.scopePatient}&`
              : `/fhir/Patient/${role.scopePatient}/${type}?`;
          const inRecord = scopeBound
            ? expected.filter(
                (ref) =>
                  ref === `Patient/${role.scopePatient}` || COMPARTMENT_OF.get(ref) === role.scopePatient,
              )
            : expected;
          const page = await get(`${path}_count=100&_total=accurate`);
          expect(page.statusCode, page.body).toBe(200);
          expect(refs(page.body), type).toEqual(inRecord);
          expect(JSON.parse(page.body).total, type).toBe(inRecord.length);
          const count = await get(`${path}_summary=count`);
          expect(JSON.parse(count.body).total, type).toBe(inRecord.length);
        }
      });

      it('_include and _revinclude add nothing outside the rule', async () => {
        const included = await get(
          '/fhir/Observation?_count=100&_include=Observation:subject&_include=Observation:encounter',
        );
        if (refusedByScope(included.statusCode)) return;
        expect(included.statusCode).toBe(200);
        const observations = role.sees.filter((ref) => ref.startsWith('Observation/'));
        const targets = SCENARIO.filter((r) => observations.includes(`Observation/${String(r.id)}`)).flatMap(
          (r) =>
            [r.subject, r.encounter].map((reference) =>
              String((reference as { reference?: string })?.reference),
            ),
        );
        expect(refs(included.body)).toEqual(
          sorted([...observations, ...targets.filter((ref) => sees.has(ref))]),
        );
        const revincluded = await get(
          '/fhir/Patient?_count=100&_revinclude=Observation:subject&_revinclude=Encounter:subject&_revinclude=MedicationRequest:subject&_revinclude=Consent:patient',
        );
        expect(revincluded.statusCode).toBe(200);
        const patients = role.sees.filter((ref) => ref.startsWith('Patient/'));
        const referrers = role.sees.filter(
          (ref) =>
            /^(Observation|Encounter|MedicationRequest|Consent)\//.test(ref) &&
            patients.includes(`Patient/${COMPARTMENT_OF.get(ref)}`),
        );
        expect(refs(revincluded.body)).toEqual(sorted([...patients, ...referrers]));
      });

      it('chained parameters and _has do not match through a hidden resource', async () => {
        const chained = await get('/fhir/Observation?_count=100&encounter:Encounter.status=finished');
        if (refusedByScope(chained.statusCode)) return;
        const throughEncounter = SCENARIO.filter(
          (r) =>
            r.resourceType === 'Observation' &&
            sees.has(`Observation/${String(r.id)}`) &&
            sees.has(String((r.encounter as { reference?: string } | undefined)?.reference)),
        ).map((r) => `Observation/${String(r.id)}`);
        expect(refs(chained.body)).toEqual(sorted(throughEncounter));
        const bySubject = await get('/fhir/Observation?_count=100&subject:Patient.family=Alpha');
        const ofAlpha = sees.has('Patient/pat-a')
          ? role.sees.filter((ref) => ref.startsWith('Observation/') && COMPARTMENT_OF.get(ref) === 'pat-a')
          : [];
        expect(refs(bySubject.body)).toEqual(sorted(ofAlpha));
        const has = await get('/fhir/Patient?_count=100&_has:Observation:subject:code=8867-4');
        const withObservations = role.sees.filter(
          (ref) =>
            ref.startsWith('Patient/') &&
            role.sees.some(
              (other) => other.startsWith('Observation/') && `Patient/${COMPARTMENT_OF.get(other)}` === ref,
            ),
        );
        expect(refs(has.body)).toEqual(sorted(withObservations));
      });

      it('type and system history list only versions of what the rule allows', async () => {
        const typeHistory = await get('/fhir/Observation/_history?_count=500');
        if (refusedByScope(typeHistory.statusCode)) return;
        expect(typeHistory.statusCode).toBe(200);
        expect(leaks(refs(typeHistory.body))).toEqual([]);
        expect(sorted(refs(typeHistory.body).filter((ref) => PATIENT_DATA.includes(ref)))).toEqual(
          sorted(role.sees.filter((ref) => ref.startsWith('Observation/'))),
        );
        const systemHistory = await get('/fhir/_history?_count=500');
        expect(systemHistory.statusCode).toBe(200);
        expect(leaks(refs(systemHistory.body))).toEqual([]);
        expect(sorted(refs(systemHistory.body).filter((ref) => PATIENT_DATA.includes(ref)))).toEqual(
          sorted(role.sees),
        );
      });

      it('compartment search and $everything stay inside the rule', async () => {
        for (const patient of ['pat-a', 'pat-b', 'pat-c', 'pat-d']) {
          const expected = role.sees.filter((ref) => COMPARTMENT_OF.get(ref) === patient);
          const observations = await get(`/fhir/Patient/${patient}/Observation?_count=100`);
          if (refusedByScope(observations.statusCode) && patient !== role.scopePatient) continue;
          if (observations.statusCode === 200) {
            expect(refs(observations.body)).toEqual(
              sorted(expected.filter((ref) => ref.startsWith('Observation/'))),
            );
          } else {
            expect(observations.statusCode).toBe(404);
            expect(expected.filter((ref) => ref.startsWith('Observation/'))).toEqual([]);
          }
          const everything = await get(`/fhir/Patient/${patient}/$everything?_count=500`);
          if (!sees.has(`Patient/${patient}`)) {
            expect(everything.statusCode, patient).toBe(404);
            continue;
          }
          expect(everything.statusCode, everything.body).toBe(200);
          const found = refs(everything.body);
          expect(leaks(found)).toEqual([]);
          expect(sorted(found.filter((ref) => PATIENT_DATA.includes(ref)))).toEqual(sorted(expected));
        }
      });

      it('batch and transaction GET entries read under the rule: a hidden resource is 404, as one never created', async () => {
        const references = [...PATIENT_DATA, ...SHARED];
        const bundle = (type: 'batch' | 'transaction', urls: readonly string[]) =>
          request('POST', '/fhir', {
            resourceType: 'Bundle',
            type,
            entry: urls.map((url) => ({ request: { method: 'GET', url } })),
          });
        const batch = await bundle('batch', references);
        expect(batch.statusCode, batch.body).toBe(200);
        const entries = (JSON.parse(batch.body) as { entry: Entry[] }).entry;
        const statuses = entries.map((entry, i) => `${references[i]} ${entry.response?.status.slice(0, 3)}`);
        const outcome = (ref: string, status: string | undefined) =>
          status === '403' && scopeBound && otherPatient(ref) ? (sees.has(ref) ? '200' : '404') : status;
        expect(
          entries.map(
            (entry, i) =>
              `${references[i]} ${outcome(references[i] ?? '', entry.response?.status.slice(0, 3))}`,
          ),
        ).toEqual(references.map((ref) => `${ref} ${sees.has(ref) ? '200' : '404'}`));
        expect(statuses.length).toBe(references.length);

        const visible = await bundle(
          'transaction',
          references.filter((ref) => sees.has(ref)),
        );
        if (refusedByScope(visible.statusCode)) return;
        expect(visible.statusCode, visible.body).toBe(200);
        const hidden = references.find((ref) => !sees.has(ref));
        if (hidden === undefined) return;
        const [type, id] = hidden.split('/');
        const outside = await bundle('transaction', [hidden]);
        const absent = await bundle('transaction', [`${type}/never-${id}`]);
        if (refusedByScope(outside.statusCode)) return;
        expect(outside.statusCode).toBe(404);
        expect(outside.body.replaceAll(hidden, 'X')).toBe(absent.body.replaceAll(`${type}/never-${id}`, 'X'));
      });

      it('a conditional update does not match, and an update by id does not overwrite, a resource outside the rule', async () => {
        if (breakGlass) return;
        const id = `flag-${role.index}`;
        const response = await request('PUT', `/fhir/Flag?_id=${id}`, {
          resourceType: 'Flag',
          status: 'inactive',
          code: { text: 'Fall risk' },
          subject: { reference: 'Patient/pat-c' },
        });
        expect([201, 403]).toContain(response.statusCode);
        // An update by id of a hidden resource cannot overwrite it either.
        const byId = await request('PUT', `/fhir/Flag/${id}`, {
          resourceType: 'Flag',
          id,
          status: 'inactive',
          code: { text: 'Fall risk' },
          subject: { reference: 'Patient/pat-c' },
        });
        expect([409, 403]).toContain(byId.statusCode);
        const hidden = await t.store.read(systemContext('check'), 'Flag', id);
        expect(hidden?.versionId).toBe(1);
      });

      it('bulk $export writes only what the rule allows', async () => {
        const kicked = await kickOff(t.app, `/fhir/$export?_type=${[...TYPES, 'Organization'].join(',')}`, {
          authorization: tokens.get(role.name) ?? '',
          ...(role.headers !== undefined ? { headers: role.headers } : {}),
        });
        if (refusedByScope(kicked.statusCode)) return;
        expect(kicked.statusCode, kicked.body).toBe(202);
        const statusUrl = String(kicked.headers['content-location']);
        const manifest = await awaitManifest(t.app, statusUrl, tokens.get(role.name));
        const { byType } = await download(t.app, manifest.output, tokens.get(role.name));
        const exported = [...byType.values()].flat().map((r) => `${String(r.resourceType)}/${String(r.id)}`);
        expect(leaks(exported)).toEqual([]);
        expect(sorted(exported.filter((ref) => PATIENT_DATA.includes(ref)))).toEqual(sorted(role.sees));
      }, 30_000);
    },
  );

  // Last: the resources written here would otherwise show up in the reads above.
  describe.each(ROLE_CASES)('$name writes', (role: RoleCase) => {
    const breakGlass = role.headers !== undefined;
    const create = (resource: unknown) =>
      t.app.inject({
        method: 'POST',
        url: '/fhir/Observation',
        headers: {
          authorization: tokens.get(role.name) ?? '',
          'content-type': 'application/fhir+json',
          ...(role.headers ?? {}),
        },
        payload: JSON.stringify(resource),
      });
    const reference = (value: unknown) => (value as { reference?: string } | undefined)?.reference;

    it('land only inside the rule: a new Observation beside one it sees, none in a record it does not', async () => {
      const seen = SCENARIO.find(
        (r) => r.resourceType === 'Observation' && role.sees.includes(`Observation/${String(r.id)}`),
      );
      if (seen !== undefined) {
        const beside = await create({
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'Pulse' },
          subject: { reference: reference(seen.subject) },
          ...(seen.encounter !== undefined ? { encounter: { reference: reference(seen.encounter) } } : {}),
        });
        expect(beside.statusCode, beside.body).toBe(201);
      }
      const outside = await create({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Pulse' },
        subject: { reference: 'Patient/pat-c' },
      });
      expect(outside.statusCode, outside.body).toBe(breakGlass ? 201 : 403);
    });
  });
});
