/**
 * Conditional interactions accept any criteria the search supports
 * (http://hl7.org/fhir/R4/http.html#ccreate, #cond-update), still refusing what it cannot evaluate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { createResource, uniqueName } from './search-helpers.ts';

for (const database of testDatabases()) {
  describe(`conditional criteria through search on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    const conditionalCreate = (ifNoneExist: string, resource = patient()) =>
      t.app.inject({
        method: 'POST',
        url: `/fhir/${resource.resourceType}`,
        headers: { ...FHIR_JSON, 'if-none-exist': ifNoneExist },
        payload: resource,
      });

    it('matches dates and chains in If-None-Exist (search.html#date, #chaining)', async () => {
      const family = uniqueName('Cond');
      const id = await createResource(t, patient({ family }));
      const byDate = await conditionalCreate(`family=${family}&birthdate=1984-03-02`);
      expect(byDate.statusCode).toBe(200);
      expect(json(byDate.body).id).toBe(id);
      const observationId = await createResource(t, observation(`Patient/${id}`));
      const byChain = await conditionalCreate(
        `subject:Patient.family=${family}&code=8867-4`,
        observation(`Patient/${id}`),
      );
      expect(byChain.statusCode).toBe(200);
      expect(json(byChain.body).id).toBe(observationId);
    });

    it('refuses criteria the search cannot evaluate and result parameters with 400', async () => {
      const cases = [
        ['gender:in=http://hl7.org/fhir/ValueSet/administrative-gender', patient()],
        ['family=x&_count=1', patient()],
        ['code:below=http://snomed.info/sct|404684003', observation('Patient/1')],
      ] as const;
      for (const [criteria, resource] of cases) {
        const response = await conditionalCreate(criteria, resource);
        expect(response.statusCode, criteria).toBe(400);
        expect(at(json(response.body), 'issue', 0, 'code')).toBe('not-supported');
      }
    });
  });
}
