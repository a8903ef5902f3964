/**
 * Master-data enforcement on write (issue 5; docs/terminology.md): diagnoses coded in the master
 * classifiers of their care setting, codes valid and not retired, UCUM units valid — each refusal
 * a 422 OperationOutcome naming the element (FHIRPath) and the code.
 */
import type { FhirResource } from '@concordia/fhir';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResource } from '../fhir/search-helpers.ts';
import { testDatabases } from '../support/databases.ts';
import {
  at,
  createTestApp,
  FHIR_JSON,
  json,
  observation,
  patient,
  type TestApp,
} from '../support/test-app.ts';
import { ICD10, ICPC2, loadTerminologyFixture, SNOMED } from './terminology-fixture.ts';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

function encounter(subject: string, classCode: string, diagnoses: string[] = []): FhirResource {
  return {
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: ACT_CODE, code: classCode },
    subject: { reference: subject },
    ...(diagnoses.length > 0
      ? { diagnosis: diagnoses.map((condition) => ({ condition: { reference: condition } })) }
      : {}),
  };
}

function condition(
  subject: string,
  codings: { system: string; code: string }[],
  encounterRef?: string,
): FhirResource {
  return {
    resourceType: 'Condition',
    subject: { reference: subject },
    ...(encounterRef !== undefined ? { encounter: { reference: encounterRef } } : {}),
    code: { coding: codings },
  };
}

function post(t: TestApp, resource: FhirResource): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: `/fhir/${resource.resourceType}`,
    headers: FHIR_JSON,
    payload: resource,
  });
}

function firstIssue(response: LightMyRequestResponse): Record<string, unknown> {
  const issue = at(json(response.body), 'issue', 0);
  return typeof issue === 'object' && issue !== null ? Object.fromEntries(Object.entries(issue)) : {};
}

for (const database of testDatabases()) {
  describe(`master-data enforcement on ${database.name}`, () => {
    let t: TestApp;
    let open: TestApp;
    let subject: string;
    beforeAll(async () => {
      t = await createTestApp(database, { CONCORDIA_MASTER_DATA: 'reject', CONCORDIA_UCUM_UNITS: 'reject' });
      open = await createTestApp(database);
      await loadTerminologyFixture(t);
      subject = `Patient/${await createResource(t, patient({ family: 'Master' }))}`;
    });
    afterAll(async () => {
      await t.close();
      await open.close();
    });

    it('refuses a Condition with an ICD-10 code that does not exist, naming Condition.code.coding[0] and the code', async () => {
      const response = await post(t, condition(subject, [{ system: ICD10, code: 'J45.77' }]));
      expect(response.statusCode, response.body).toBe(422);
      const issue = firstIssue(response);
      expect(issue.code).toBe('code-invalid');
      expect(issue.expression).toEqual(['Condition.code.coding[0]']);
      expect(String(issue.diagnostics)).toContain('J45.77');
    });

    it('refuses a retired (inactive) code', async () => {
      const response = await post(
        t,
        condition(subject, [
          { system: SNOMED, code: '195967001' },
          { system: ICD10, code: 'J45.8' },
        ]),
      );
      expect(response.statusCode, response.body).toBe(422);
      expect(firstIssue(response).expression).toEqual(['Condition.code.coding[1]']);
      expect(String(firstIssue(response).diagnostics)).toContain('J45.8');
    });

    it('requires an ICD-10 code in a hospital encounter; ICPC-2 alone is refused (class IMP)', async () => {
      const inpatient = `Encounter/${await createResource(t, encounter(subject, 'IMP'))}`;
      const icpc = await post(t, condition(subject, [{ system: ICPC2, code: 'R96' }], inpatient));
      expect(icpc.statusCode, icpc.body).toBe(422);
      expect(firstIssue(icpc).expression).toEqual(['Condition.code']);
      expect(String(firstIssue(icpc).diagnostics)).toContain('R96');
      const icd = await post(t, condition(subject, [{ system: ICD10, code: 'J45.0' }], inpatient));
      expect(icd.statusCode, icd.body).toBe(201);
    });

    it('accepts ICPC-2 in primary care (class AMB) and refuses a SNOMED-only diagnosis there', async () => {
      const visit = `Encounter/${await createResource(t, encounter(subject, 'AMB'))}`;
      const icpc = await post(t, condition(subject, [{ system: ICPC2, code: 'R96' }], visit));
      expect(icpc.statusCode, icpc.body).toBe(201);
      const snomed = await post(t, condition(subject, [{ system: SNOMED, code: '195967001' }], visit));
      expect(snomed.statusCode, snomed.body).toBe(422);
      expect(firstIssue(snomed).expression).toEqual(['Condition.code']);
    });

    it('checks Encounter.diagnosis in a transaction whatever the order of its entries', async () => {
      const bundle = (classCode: string) => ({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:6a3c1f0e-0000-4000-8000-000000000001',
            resource: encounter(subject, classCode, ['urn:uuid:6a3c1f0e-0000-4000-8000-000000000002']),
            request: { method: 'POST', url: 'Encounter' },
          },
          {
            fullUrl: 'urn:uuid:6a3c1f0e-0000-4000-8000-000000000002',
            resource: condition(subject, [{ system: ICPC2, code: 'R96' }]),
            request: { method: 'POST', url: 'Condition' },
          },
        ],
      });
      const hospital = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: bundle('EMER'),
      });
      expect(hospital.statusCode, hospital.body).toBe(422);
      expect(firstIssue(hospital).expression).toEqual(['Encounter.diagnosis[0].condition']);
      const primary = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: bundle('AMB'),
      });
      expect(primary.statusCode, primary.body).toBe(200);
    });

    it('refuses a Quantity whose UCUM code is not UCUM, naming the element', async () => {
      const bad = observation(subject);
      bad.valueQuantity = { value: 5, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mgg' };
      const response = await post(t, bad);
      expect(response.statusCode, response.body).toBe(422);
      expect(firstIssue(response).expression).toEqual(['Observation.valueQuantity.code']);
      expect(String(firstIssue(response).diagnostics)).toContain('mgg');
      const good = observation(subject);
      good.valueQuantity = { value: 5, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' };
      expect((await post(t, good)).statusCode).toBe(201);
    });

    it('checks nothing by default (CONCORDIA_MASTER_DATA and CONCORDIA_UCUM_UNITS off)', async () => {
      const other = `Patient/${await createResource(open, patient({ family: 'Open' }))}`;
      const snomed = await post(open, condition(other, [{ system: SNOMED, code: '195967001' }]));
      expect(snomed.statusCode, snomed.body).toBe(201);
      const unit = observation(other);
      unit.valueQuantity = { value: 5, system: 'http://unitsofmeasure.org', code: 'mgg' };
      expect((await post(open, unit)).statusCode).toBe(201);
    });
  });
}
