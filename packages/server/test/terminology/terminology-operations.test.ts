/**
 * The terminology operations through the HTTP door (http://hl7.org/fhir/R4/terminology-service.html):
 * CodeSystem $lookup, $validate-code, $subsumes; ValueSet $expand, $validate-code; ConceptMap
 * $translate — Parameters in and out as each operation's page says, and OperationOutcome errors
 * naming the parameter.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, type TestApp } from '../support/test-app.ts';
import {
  ASTHMA_VALUE_SET,
  asthmaValueSet,
  ICD10,
  ICPC2,
  ICPC2_TO_ICD10,
  loadTerminologyFixture,
  SNOMED,
} from './terminology-fixture.ts';

type Json = Record<string, unknown>;

function parameters(response: LightMyRequestResponse): Json[] {
  const body = json(response.body);
  expect(body.resourceType, response.body).toBe('Parameters');
  return Array.isArray(body.parameter) ? body.parameter : [];
}

function named(list: readonly Json[], name: string): Json[] {
  return list.filter((parameter) => parameter.name === name);
}

function single(list: readonly Json[], name: string): Json | undefined {
  const found = named(list, name);
  expect(found.length, `parameter ${name}`).toBeLessThanOrEqual(1);
  return found[0];
}

function part(parameter: unknown, name: string): Json | undefined {
  const parts = at(parameter, 'part');
  return Array.isArray(parts) ? parts.find((candidate) => at(candidate, 'name') === name) : undefined;
}

/** The only issue of an OperationOutcome answer. */
function issue(response: LightMyRequestResponse): Json {
  const body = json(response.body);
  expect(body.resourceType, response.body).toBe('OperationOutcome');
  const issues = Array.isArray(body.issue) ? body.issue : [];
  expect(issues).toHaveLength(1);
  return issues[0];
}

function post(t: TestApp, url: string, parameter: Json[]): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url,
    headers: FHIR_JSON,
    payload: { resourceType: 'Parameters', parameter },
  });
}

for (const database of testDatabases()) {
  describe(`terminology operations on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
      await loadTerminologyFixture(t);
    });
    afterAll(() => t.close());

    const get = (url: string) => t.app.inject({ method: 'GET', url });

    describe('CodeSystem/$lookup (codesystem-operation-lookup.html)', () => {
      it('returns name, version, display, designations and the parent/child properties of a code', async () => {
        const response = await get(`/fhir/CodeSystem/$lookup?system=${encodeURIComponent(ICD10)}&code=J45`);
        expect(response.statusCode, response.body).toBe(200);
        const out = parameters(response);
        expect(single(out, 'name')?.valueString).toBe('ICD10');
        expect(single(out, 'version')?.valueString).toBe('2019');
        expect(single(out, 'display')?.valueString).toBe('Asthma');
        const designation = named(out, 'designation').find((d) => part(d, 'language')?.valueCode === 'nb');
        expect(part(designation, 'value')?.valueString).toBe('Astma');
        const properties = named(out, 'property').map((p) => [part(p, 'code')?.valueCode, part(p, 'value')]);
        expect(properties).toContainEqual(['parent', { name: 'value', valueCode: 'J40-J47' }]);
        const children = properties
          .filter(([code]) => code === 'child')
          .map(([, value]) => at(value, 'valueCode'));
        expect(children.sort()).toEqual(['J45.0', 'J45.1', 'J45.8', 'J45.9']);
      });

      it('takes a Coding in a POST body and returns only the properties asked for (property)', async () => {
        const response = await post(t, '/fhir/CodeSystem/$lookup', [
          { name: 'coding', valueCoding: { system: ICD10, code: 'J45.0' } },
          { name: 'property', valueCode: 'parent' },
        ]);
        expect(response.statusCode, response.body).toBe(200);
        const out = parameters(response);
        expect(single(out, 'display')?.valueString).toBe('Predominantly allergic asthma');
        const codes = named(out, 'property').map((p) => part(p, 'code')?.valueCode);
        expect(codes).toEqual(['parent']);
        expect(named(out, 'designation')).toEqual([]);
      });

      it('gives the display in displayLanguage when the concept has a designation in it', async () => {
        const response = await get(
          `/fhir/CodeSystem/$lookup?system=${encodeURIComponent(ICD10)}&code=J45&displayLanguage=nb`,
        );
        expect(response.statusCode, response.body).toBe(200);
        expect(single(parameters(response), 'display')?.valueString).toBe('Astma');
      });

      it('answers 404 naming the code for a code the system does not have', async () => {
        const response = await get(
          `/fhir/CodeSystem/$lookup?system=${encodeURIComponent(ICD10)}&code=J99.99`,
        );
        expect(response.statusCode).toBe(404);
        const found = issue(response);
        expect(found.code).toBe('not-found');
        expect(String(found.diagnostics)).toContain('J99.99');
        expect(found.expression).toEqual(['code']);
      });

      it('answers 400 with expression system when a code comes without its system', async () => {
        const response = await get('/fhir/CodeSystem/$lookup?code=J45');
        expect(response.statusCode).toBe(400);
        expect(issue(response)).toMatchObject({ code: 'required', expression: ['system'] });
      });

      it('refuses a parameter the OperationDefinition does not declare, and a Coding in the query string', async () => {
        const unknown = await get(
          `/fhir/CodeSystem/$lookup?system=${encodeURIComponent(ICD10)}&code=J45&colour=red`,
        );
        expect(unknown.statusCode).toBe(400);
        expect(issue(unknown)).toMatchObject({ code: 'not-supported', expression: ['colour'] });
        const coding = await get('/fhir/CodeSystem/$lookup?coding=J45');
        expect(coding.statusCode).toBe(400);
        expect(issue(coding)).toMatchObject({ expression: ['coding'] });
      });
    });

    describe('CodeSystem/$validate-code (codesystem-operation-validate-code.html)', () => {
      it('says result true with the display for a code of the system', async () => {
        const response = await get(
          `/fhir/CodeSystem/$validate-code?url=${encodeURIComponent(ICD10)}&code=J45.1`,
        );
        expect(response.statusCode, response.body).toBe(200);
        const out = parameters(response);
        expect(single(out, 'result')?.valueBoolean).toBe(true);
        expect(single(out, 'display')?.valueString).toBe('Nonallergic asthma');
      });

      it('says result false with a message for a code the system does not have', async () => {
        const response = await get(
          `/fhir/CodeSystem/$validate-code?url=${encodeURIComponent(ICD10)}&code=R96`,
        );
        expect(response.statusCode, response.body).toBe(200);
        const out = parameters(response);
        expect(single(out, 'result')?.valueBoolean).toBe(false);
        expect(typeof single(out, 'message')?.valueString).toBe('string');
      });

      it('says result false for a display that is not the code’s, with a message and the valid display (input display: "If a display is provided a code must be provided")', async () => {
        const wrong = await get(
          `/fhir/CodeSystem/$validate-code?url=${encodeURIComponent(ICD10)}&code=J45.1&display=Allergic%20asthma`,
        );
        expect(wrong.statusCode, wrong.body).toBe(200);
        const out = parameters(wrong);
        expect(single(out, 'result')?.valueBoolean).toBe(false);
        expect(single(out, 'message')?.valueString).toBe(
          `Wrong Display Name 'Allergic asthma' for ${ICD10}#J45.1. Valid display is 'Nonallergic asthma'`,
        );
        expect(single(out, 'display')?.valueString).toBe('Nonallergic asthma');
        const right = parameters(
          await get(
            `/fhir/CodeSystem/$validate-code?url=${encodeURIComponent(ICD10)}&code=J45.1&display=nonallergic%20ASTHMA`,
          ),
        );
        expect(single(right, 'result')?.valueBoolean).toBe(true);
        expect(single(right, 'message')).toBeUndefined();
      });

      it('validates a CodeableConcept by its codings of the code system', async () => {
        const response = await post(t, '/fhir/CodeSystem/$validate-code', [
          { name: 'url', valueUri: ICD10 },
          {
            name: 'codeableConcept',
            valueCodeableConcept: {
              coding: [
                { system: SNOMED, code: '195967001' },
                { system: ICD10, code: 'J45.9' },
              ],
            },
          },
        ]);
        expect(response.statusCode, response.body).toBe(200);
        expect(single(parameters(response), 'result')?.valueBoolean).toBe(true);
      });

      it('says result false for a CodeableConcept with no coding of the code system', async () => {
        const response = await post(t, '/fhir/CodeSystem/$validate-code', [
          { name: 'url', valueUri: ICD10 },
          {
            name: 'codeableConcept',
            valueCodeableConcept: { coding: [{ system: SNOMED, code: '195967001' }] },
          },
        ]);
        expect(response.statusCode, response.body).toBe(200);
        const out = parameters(response);
        expect(single(out, 'result')?.valueBoolean).toBe(false);
        expect(typeof single(out, 'message')?.valueString).toBe('string');
      });

      it('answers 400 with expression url when no code system is named', async () => {
        const response = await get('/fhir/CodeSystem/$validate-code?code=J45');
        expect(response.statusCode).toBe(400);
        expect(issue(response)).toMatchObject({ code: 'required', expression: ['url'] });
      });
    });

    describe('CodeSystem/$subsumes (codesystem-operation-subsumes.html)', () => {
      const subsumes = async (a: string, b: string) => {
        const response = await get(
          `/fhir/CodeSystem/$subsumes?system=${encodeURIComponent(ICD10)}&codeA=${a}&codeB=${b}`,
        );
        expect(response.statusCode, response.body).toBe(200);
        return single(parameters(response), 'outcome')?.valueCode;
      };

      it('answers equivalent, subsumes, subsumed-by and not-subsumed as the hierarchy says', async () => {
        expect(await subsumes('J45', 'J45')).toBe('equivalent');
        expect(await subsumes('J45', 'J45.0')).toBe('subsumes');
        expect(await subsumes('J45.0', 'J45')).toBe('subsumed-by');
        expect(await subsumes('J45.0', 'J45.1')).toBe('not-subsumed');
        expect(await subsumes('J40-J47', 'J45.9')).toBe('subsumes');
      });

      it('takes codingA and codingB, whose system is the code system', async () => {
        const response = await post(t, '/fhir/CodeSystem/$subsumes', [
          { name: 'codingA', valueCoding: { system: ICPC2, code: 'K86' } },
          { name: 'codingB', valueCoding: { system: ICPC2, code: 'K' } },
        ]);
        expect(response.statusCode, response.body).toBe(200);
        expect(single(parameters(response), 'outcome')?.valueCode).toBe('subsumed-by');
      });

      it('answers 400 naming codeB when it is missing', async () => {
        const response = await get(
          `/fhir/CodeSystem/$subsumes?system=${encodeURIComponent(ICD10)}&codeA=J45`,
        );
        expect(response.statusCode).toBe(400);
        expect(issue(response)).toMatchObject({ code: 'required', expression: ['codeB'] });
      });
    });

    describe('ValueSet/$expand (valueset-operation-expand.html)', () => {
      const codes = (valueSet: Json): unknown[] => {
        const contains = at(valueSet, 'expansion', 'contains');
        return (Array.isArray(contains) ? contains : []).map((entry) => at(entry, 'code'));
      };

      it('expands a stored value set by url into its codes, with total and timestamp', async () => {
        const response = await get(
          `/fhir/ValueSet/$expand?url=${encodeURIComponent(ASTHMA_VALUE_SET)}&activeOnly=true`,
        );
        expect(response.statusCode, response.body).toBe(200);
        const body = json(response.body);
        expect(body.resourceType).toBe('ValueSet');
        expect(body.url).toBe(ASTHMA_VALUE_SET);
        expect(at(body, 'expansion', 'total')).toBe(4);
        expect(typeof at(body, 'expansion', 'timestamp')).toBe('string');
        expect(codes(body).sort()).toEqual(['J45', 'J45.0', 'J45.1', 'J45.9']);
        const contains = at(body, 'expansion', 'contains');
        expect(Array.isArray(contains) ? contains[0] : undefined).toMatchObject({ system: ICD10 });
      });

      it('pages with offset and count, total counting the whole expansion', async () => {
        const response = await get(
          `/fhir/ValueSet/$expand?url=${encodeURIComponent(ASTHMA_VALUE_SET)}&activeOnly=true&offset=1&count=2`,
        );
        expect(response.statusCode, response.body).toBe(200);
        const body = json(response.body);
        expect(at(body, 'expansion', 'total')).toBe(4);
        expect(at(body, 'expansion', 'offset')).toBe(1);
        expect(codes(body)).toHaveLength(2);
      });

      it('filters by text (filter) and echoes the parameters it used', async () => {
        const response = await get(
          `/fhir/ValueSet/$expand?url=${encodeURIComponent(ASTHMA_VALUE_SET)}&filter=allergic`,
        );
        expect(response.statusCode, response.body).toBe(200);
        const body = json(response.body);
        expect(codes(body)).toEqual(['J45.0']);
        expect(at(body, 'expansion', 'parameter')).toContainEqual({
          name: 'filter',
          valueString: 'allergic',
        });
      });

      it('expands the stored ValueSet at instance level (ValueSet/[id]/$expand)', async () => {
        const response = await get('/fhir/ValueSet/asthma/$expand?activeOnly=true');
        expect(response.statusCode, response.body).toBe(200);
        const body = json(response.body);
        expect(body.id).toBe('asthma');
        expect(codes(body).sort()).toEqual(['J45', 'J45.0', 'J45.1', 'J45.9']);
      });

      it('expands a ValueSet sent in the body (valueSet)', async () => {
        const valueSet = {
          ...asthmaValueSet(),
          id: undefined,
          url: 'https://concordia.example/fhir/ValueSet/hypertension',
          compose: { include: [{ system: ICPC2, concept: [{ code: 'K86' }, { code: 'K87' }] }] },
        };
        const response = await post(t, '/fhir/ValueSet/$expand', [{ name: 'valueSet', resource: valueSet }]);
        expect(response.statusCode, response.body).toBe(200);
        expect(codes(json(response.body)).sort()).toEqual(['K86', 'K87']);
      });

      it('answers 404 for an instance that does not exist and 400 naming url when nothing is named', async () => {
        const absent = await get('/fhir/ValueSet/nothing-here/$expand');
        expect(absent.statusCode).toBe(404);
        const bare = await get('/fhir/ValueSet/$expand');
        expect(bare.statusCode).toBe(400);
        expect(issue(bare)).toMatchObject({ code: 'required', expression: ['url'] });
      });
    });

    describe('ValueSet/$validate-code (valueset-operation-validate-code.html)', () => {
      it('says whether system|code is in the value set', async () => {
        const url = encodeURIComponent(ASTHMA_VALUE_SET);
        const inSet = await get(
          `/fhir/ValueSet/$validate-code?url=${url}&system=${encodeURIComponent(ICD10)}&code=J45.0`,
        );
        expect(inSet.statusCode, inSet.body).toBe(200);
        expect(single(parameters(inSet), 'result')?.valueBoolean).toBe(true);
        const outOfSet = await get(
          `/fhir/ValueSet/$validate-code?url=${url}&system=${encodeURIComponent(ICD10)}&code=I10`,
        );
        expect(outOfSet.statusCode, outOfSet.body).toBe(200);
        const out = parameters(outOfSet);
        expect(single(out, 'result')?.valueBoolean).toBe(false);
        expect(typeof single(out, 'message')?.valueString).toBe('string');
      });

      it('judges a display given with a member code: result false when it is not the code’s ("True if the concept details supplied are valid")', async () => {
        const url = encodeURIComponent(ASTHMA_VALUE_SET);
        const system = encodeURIComponent(ICD10);
        const wrong = parameters(
          await get(`/fhir/ValueSet/$validate-code?url=${url}&system=${system}&code=J45.0&display=Asthma`),
        );
        expect(single(wrong, 'result')?.valueBoolean).toBe(false);
        expect(single(wrong, 'message')?.valueString).toContain("Wrong Display Name 'Asthma'");
        expect(single(wrong, 'display')?.valueString).toBe('Predominantly allergic asthma');
        const right = parameters(
          await get(
            `/fhir/ValueSet/$validate-code?url=${url}&system=${system}&code=J45.0&display=Predominantly%20allergic%20asthma`,
          ),
        );
        expect(single(right, 'result')?.valueBoolean).toBe(true);
      });

      it('validates a codeableConcept against the stored ValueSet at instance level', async () => {
        const response = await post(t, '/fhir/ValueSet/asthma/$validate-code', [
          {
            name: 'codeableConcept',
            valueCodeableConcept: {
              coding: [
                { system: ICPC2, code: 'R96' },
                { system: ICD10, code: 'J45.9' },
              ],
            },
          },
        ]);
        expect(response.statusCode, response.body).toBe(200);
        expect(single(parameters(response), 'result')?.valueBoolean).toBe(true);
      });

      it('answers 400 with expression system for a code without a system', async () => {
        const response = await get(
          `/fhir/ValueSet/$validate-code?url=${encodeURIComponent(ASTHMA_VALUE_SET)}&code=J45`,
        );
        expect(response.statusCode).toBe(400);
        expect(issue(response)).toMatchObject({ code: 'required', expression: ['system'] });
      });
    });

    describe('ConceptMap/$translate (conceptmap-operation-translate.html)', () => {
      it('translates an ICPC-2 code to ICD-10 with the equivalence and the map it came from', async () => {
        const response = await get(
          `/fhir/ConceptMap/$translate?system=${encodeURIComponent(ICPC2)}&code=R96&targetsystem=${encodeURIComponent(ICD10)}`,
        );
        expect(response.statusCode, response.body).toBe(200);
        const out = parameters(response);
        expect(single(out, 'result')?.valueBoolean).toBe(true);
        const [match] = named(out, 'match');
        expect(part(match, 'equivalence')?.valueCode).toBe('equivalent');
        expect(part(match, 'concept')?.valueCoding).toMatchObject({ system: ICD10, code: 'J45' });
        expect(part(match, 'source')?.valueUri).toContain(ICPC2_TO_ICD10);
      });

      it('translates from target to source with reverse=true', async () => {
        const response = await post(t, '/fhir/ConceptMap/$translate', [
          { name: 'url', valueUri: ICPC2_TO_ICD10 },
          { name: 'coding', valueCoding: { system: ICD10, code: 'I10' } },
          { name: 'reverse', valueBoolean: true },
        ]);
        expect(response.statusCode, response.body).toBe(200);
        const out = parameters(response);
        expect(single(out, 'result')?.valueBoolean).toBe(true);
        expect(part(named(out, 'match')[0], 'concept')?.valueCoding).toMatchObject({
          system: ICPC2,
          code: 'K86',
        });
      });

      it('says result false with a message when no map translates the code', async () => {
        const response = await get(
          `/fhir/ConceptMap/$translate?system=${encodeURIComponent(ICPC2)}&code=K87&targetsystem=${encodeURIComponent(ICD10)}`,
        );
        expect(response.statusCode, response.body).toBe(200);
        const out = parameters(response);
        expect(single(out, 'result')?.valueBoolean).toBe(false);
        expect(typeof single(out, 'message')?.valueString).toBe('string');
      });

      it('answers 400 with expression system for a code without a system', async () => {
        const response = await get('/fhir/ConceptMap/$translate?code=R96');
        expect(response.statusCode).toBe(400);
        expect(issue(response)).toMatchObject({ code: 'required', expression: ['system'] });
      });
    });

    it('lists every terminology operation with its R4 OperationDefinition in the CapabilityStatement', async () => {
      const response = await get('/fhir/metadata');
      const resources = at(json(response.body), 'rest', 0, 'resource');
      const operations = (Array.isArray(resources) ? resources : []).flatMap((resource) => {
        const listed = at(resource, 'operation');
        return (Array.isArray(listed) ? listed : []).map(
          (op) => `${String(at(resource, 'type'))}:${String(at(op, 'definition'))}`,
        );
      });
      for (const id of ['lookup', 'validate-code', 'subsumes']) {
        expect(operations).toContain(`CodeSystem:http://hl7.org/fhir/OperationDefinition/CodeSystem-${id}`);
      }
      expect(operations).toContain('ValueSet:http://hl7.org/fhir/OperationDefinition/ValueSet-expand');
      expect(operations).toContain('ValueSet:http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code');
      expect(operations).toContain('ConceptMap:http://hl7.org/fhir/OperationDefinition/ConceptMap-translate');
    });
  });
}
