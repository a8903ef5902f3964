/**
 * Stored CodeSystem and ConceptMap resources fill the concept tables in the transaction that writes
 * them (terminology-write-hooks.ts): their codes validate and translate at once, an update replaces
 * them, a delete removes them, and a CodeSystem whose hierarchy is broken is refused.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTerminologyComponents, type TerminologyComponents } from './terminology-components.ts';

const LOCAL = 'http://concordia.example/CodeSystem/triage';

function triage(concept: unknown[], version = '1'): FhirResource {
  return {
    resourceType: 'CodeSystem',
    id: 'triage',
    url: LOCAL,
    version,
    name: 'Triage',
    status: 'active',
    content: 'complete',
    hierarchyMeaning: 'is-a',
    concept,
  };
}

for (const database of testDatabases()) {
  describe(`stored terminology resources on ${database.name}`, () => {
    let t: TerminologyComponents;
    beforeAll(async () => {
      t = await createTerminologyComponents(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('a stored CodeSystem’s nested concepts answer $validate-code, $lookup and $subsumes (codesystem.html#CodeSystem.concept)', async () => {
      const response = await t.write(
        triage([
          {
            code: 'urgent',
            display: 'Urgent',
            concept: [
              { code: 'red', display: 'Immediate', designation: [{ language: 'nb', value: 'Rød' }] },
              { code: 'orange', display: 'Very urgent' },
            ],
          },
          { code: 'green', display: 'Standard', property: [{ code: 'status', valueCode: 'retired' }] },
        ]),
      );
      expect(response.status).toBe(201);
      expect(
        (await t.terminology.validateCode(t.ctx, { system: LOCAL, code: 'red', display: 'rød' })).message,
      ).toBeUndefined();
      expect((await t.terminology.validateCode(t.ctx, { system: LOCAL, code: 'green' })).inactive).toBe(true);
      expect((await t.terminology.lookup(t.ctx, { system: LOCAL, code: 'urgent' }))?.children).toEqual([
        'orange',
        'red',
      ]);
      expect(await t.terminology.subsumes(t.ctx, LOCAL, 'urgent', 'red')).toBe('subsumes');
    });

    it('an update replaces the concepts and a delete removes them', async () => {
      expect((await t.write(triage([{ code: 'blue', display: 'Non-urgent' }]))).status).toBe(200);
      expect((await t.terminology.validateCode(t.ctx, { system: LOCAL, code: 'red' })).result).toBe(false);
      expect((await t.terminology.validateCode(t.ctx, { system: LOCAL, code: 'blue' })).result).toBe(true);
      expect((await t.remove('CodeSystem', 'triage')).status).toBeLessThan(300);
      expect((await t.terminology.validateCode(t.ctx, { system: LOCAL, code: 'blue' })).message).toBe(
        `Unknown code system ${LOCAL}`,
      );
    });

    it('refuses a CodeSystem whose parent property names a code it does not define, and keeps nothing of it', async () => {
      const response = await t.write({
        ...triage([{ code: 'a', display: 'A', property: [{ code: 'parent', valueCode: 'missing' }] }], '2'),
        id: 'broken',
      });
      expect(response.status).toBe(400);
      expect(
        (await t.terminology.validateCode(t.ctx, { system: LOCAL, version: '2', code: 'a' })).result,
      ).toBe(false);
    });

    it('a stored ConceptMap translates at once (conceptmap-operation-translate.html)', async () => {
      const map: FhirResource = {
        resourceType: 'ConceptMap',
        id: 'triage-map',
        url: 'http://concordia.example/ConceptMap/triage-to-esi',
        version: '1',
        status: 'active',
        group: [
          {
            source: LOCAL,
            target: 'http://concordia.example/CodeSystem/esi',
            element: [{ code: 'red', target: [{ code: '1', display: 'ESI 1', equivalence: 'equivalent' }] }],
          },
        ],
      };
      expect((await t.write(map)).status).toBe(201);
      expect(await t.terminology.translate(t.ctx, { coding: { system: LOCAL, code: 'red' } })).toEqual([
        {
          equivalence: 'equivalent',
          concept: { system: 'http://concordia.example/CodeSystem/esi', code: '1', display: 'ESI 1' },
          source: 'http://concordia.example/ConceptMap/triage-to-esi',
        },
      ]);
      await t.remove('ConceptMap', 'triage-map');
      expect(await t.terminology.translate(t.ctx, { coding: { system: LOCAL, code: 'red' } })).toEqual([]);
    });
  });
}
