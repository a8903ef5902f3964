/**
 * The value-set half of the terminology service: $expand (valueset-operation-expand.html),
 * $validate-code against a value set (valueset-operation-validate-code.html), the `:in` set
 * (search.html#token) and $translate (conceptmap-operation-translate.html), with value sets and
 * maps stored through the FHIR core.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCodeSystem, loadConceptMap } from '../../src/terminology/load-code-system.ts';
import { testDatabases } from '../support/databases.ts';
import { createTerminologyComponents, type TerminologyComponents } from './terminology-components.ts';
import { ICD10, ICPC2, ICPC2_TO_ICD10, icd10, icpc2, icpc2ToIcd10 } from './terminology-fixtures.ts';

const ASTHMA_VS = 'http://concordia.example/ValueSet/asthma';
const RESPIRATORY_VS = 'http://concordia.example/ValueSet/respiratory';

function valueSet(url: string, compose: Record<string, unknown>, id: string): FhirResource {
  return { resourceType: 'ValueSet', id, url, status: 'active', compose };
}

for (const database of testDatabases()) {
  describe(`value set operations on ${database.name}`, () => {
    let t: TerminologyComponents;
    const codes = (contains: readonly { code: string }[]) => contains.map((member) => member.code);
    beforeAll(async () => {
      t = await createTerminologyComponents(database);
      await loadCodeSystem(t.db, icd10());
      await loadCodeSystem(t.db, icpc2());
      await loadConceptMap(t.db, icpc2ToIcd10());
      const stored = [
        valueSet(
          ASTHMA_VS,
          { include: [{ system: ICD10, filter: [{ property: 'concept', op: 'is-a', value: 'J45' }] }] },
          'asthma',
        ),
        valueSet(
          RESPIRATORY_VS,
          {
            include: [
              // R4's spelling (codesystem-filter-operator.html); the stored ValueSet is validated.
              { system: ICD10, filter: [{ property: 'concept', op: 'descendent-of', value: 'J40-J47' }] },
              { system: ICPC2, concept: [{ code: 'R96' }, { code: 'R95' }] },
            ],
            exclude: [{ system: ICD10, concept: [{ code: 'J44' }] }],
          },
          'respiratory',
        ),
      ];
      for (const resource of stored) {
        const response = await t.write(resource);
        expect(response.status, JSON.stringify(response.body)).toBe(201);
      }
    });
    afterAll(async () => {
      await t?.close();
    });

    it('$expand lists a stored value set’s codes with the total, in code order (valueset-operation-expand.html)', async () => {
      const expansion = await t.terminology.expand(t.ctx, { valueSet: ASTHMA_VS });
      expect(expansion.total).toBe(4);
      expect(expansion.contains).toEqual([
        { system: ICD10, version: '2019', code: 'J45', display: 'Asthma' },
        { system: ICD10, version: '2019', code: 'J45.0', display: 'Predominantly allergic asthma' },
        { system: ICD10, version: '2019', code: 'J45.1', display: 'Nonallergic asthma' },
        { system: ICD10, version: '2019', code: 'J45.9', display: 'Asthma, unspecified' },
      ]);
    });

    it('$expand applies includes, excludes and descendant-of (valueset.html#compositions)', async () => {
      const expansion = await t.terminology.expand(t.ctx, { valueSet: RESPIRATORY_VS });
      expect(codes(expansion.contains)).toEqual([
        'J44.9',
        'J45',
        'J45.0',
        'J45.1',
        'J45.9',
        'J46',
        'R95',
        'R96',
      ]);
      expect(expansion.contains.find((member) => member.code === 'J46')?.inactive).toBe(true);
    });

    it('$expand pages with offset and count and keeps the total', async () => {
      const page = await t.terminology.expand(t.ctx, { valueSet: RESPIRATORY_VS, offset: 2, count: 3 });
      expect(page).toMatchObject({ total: 8, offset: 2 });
      expect(codes(page.contains)).toEqual(['J45.0', 'J45.1', 'J45.9']);
      const past = await t.terminology.expand(t.ctx, { valueSet: RESPIRATORY_VS, offset: 20, count: 3 });
      expect(past).toMatchObject({ total: 8, contains: [] });
    });

    it('$expand filter matches word prefixes of displays and designations, ignoring case and accents', async () => {
      const all = { resourceType: 'ValueSet', compose: { include: [{ system: ICD10 }, { system: ICPC2 }] } };
      const prefix = await t.terminology.expand(t.ctx, { valueSet: all, filter: 'ASTH unsp' });
      expect(codes(prefix.contains)).toEqual(['J45.9']);
      const norwegian = await t.terminology.expand(t.ctx, { valueSet: all, filter: 'lungebetennélse' });
      expect(codes(norwegian.contains)).toEqual(['R81']);
      const none = await t.terminology.expand(t.ctx, { valueSet: all, filter: 'sthma' });
      expect(none.total).toBe(0);
    });

    it('$expand activeOnly leaves inactive codes out; displayLanguage picks a designation', async () => {
      const active = await t.terminology.expand(t.ctx, { valueSet: RESPIRATORY_VS, activeOnly: true });
      expect(codes(active.contains)).not.toContain('J46');
      const norwegian = await t.terminology.expand(t.ctx, {
        valueSet: {
          resourceType: 'ValueSet',
          compose: { include: [{ system: ICPC2, concept: [{ code: 'R96' }] }] },
        },
        displayLanguage: 'nb',
      });
      expect(norwegian.contains).toEqual([{ system: ICPC2, version: '7.0', code: 'R96', display: 'Astma' }]);
    });

    it('$expand supports =, in, regex, is-not-a and R5’s descendant-of filters and marks grouping codes abstract', async () => {
      const expand = async (include: Record<string, unknown>) =>
        codes(
          (
            await t.terminology.expand(t.ctx, {
              valueSet: { resourceType: 'ValueSet', compose: { include: [include] } },
            })
          ).contains,
        );
      expect(
        await expand({ system: ICPC2, filter: [{ property: 'component', op: '=', value: '1' }] }),
      ).toEqual(['R05']);
      expect(
        await expand({ system: ICPC2, filter: [{ property: 'concept', op: 'in', value: 'R05,R81' }] }),
      ).toEqual(['R05', 'R81']);
      expect(
        await expand({ system: ICD10, filter: [{ property: 'code', op: 'regex', value: 'J4[45]\\.[0-9]' }] }),
      ).toEqual(['J44.9', 'J45.0', 'J45.1', 'J45.9']);
      expect(
        await expand({ system: ICD10, filter: [{ property: 'concept', op: 'is-not-a', value: 'J40-J47' }] }),
      ).toEqual(['J18.9', 'X']);
      expect(
        await expand({ system: ICD10, filter: [{ property: 'concept', op: 'descendant-of', value: 'J45' }] }),
      ).toEqual(['J45.0', 'J45.1', 'J45.9']);
      const grouping = await t.terminology.expand(t.ctx, {
        valueSet: {
          resourceType: 'ValueSet',
          compose: { include: [{ system: ICD10, concept: [{ code: 'X' }] }] },
        },
      });
      expect(grouping.contains[0]?.abstract).toBe(true);
    });

    it('$expand includes nested value sets and codes listed for code systems that are not loaded', async () => {
      const expansion = await t.terminology.expand(t.ctx, {
        valueSet: {
          resourceType: 'ValueSet',
          compose: {
            include: [
              { valueSet: [ASTHMA_VS] },
              { system: 'http://loinc.org', concept: [{ code: '8867-4', display: 'Heart rate' }] },
            ],
            exclude: [{ system: ICD10, concept: [{ code: 'J45' }] }],
          },
        },
      });
      expect(codes(expansion.contains)).toEqual(['J45.0', 'J45.1', 'J45.9', '8867-4']);
      expect(expansion.total).toBe(4);
    });

    it('$expand of an unknown value set fails with 404', async () => {
      await expect(
        t.terminology.expand(t.ctx, { valueSet: 'http://nowhere.example/vs' }),
      ).rejects.toMatchObject({ status: 404 });
    });

    it('serves a cached expansion until a stored ValueSet changes (valueset-operation-expand.html)', async () => {
      const url = 'http://concordia.example/ValueSet/cached';
      await t.write(valueSet(url, { include: [{ system: ICD10, concept: [{ code: 'J45' }] }] }, 'cached'));
      const first = await t.terminology.expand(t.ctx, { valueSet: url });
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await t.terminology.expand(t.ctx, { valueSet: url })).timestamp).toBe(first.timestamp);
      await t.write(
        valueSet(
          url,
          { include: [{ system: ICD10, concept: [{ code: 'J45' }, { code: 'J44' }] }] },
          'cached',
        ),
      );
      expect(codes((await t.terminology.expand(t.ctx, { valueSet: url })).contains)).toEqual(['J44', 'J45']);
    });

    it('$validate-code against a value set: members pass, others and inactive codes fail (valueset-operation-validate-code.html)', async () => {
      expect(await t.terminology.validateCode(t.ctx, { system: ICD10, code: 'J45.0' }, ASTHMA_VS)).toEqual({
        result: true,
        display: 'Predominantly allergic asthma',
      });
      const outside = await t.terminology.validateCode(t.ctx, { system: ICD10, code: 'J44.9' }, ASTHMA_VS);
      expect(outside.result).toBe(false);
      expect(outside.message).toContain(ASTHMA_VS);
      const retired = await t.terminology.validateCode(t.ctx, { system: ICD10, code: 'J46' }, RESPIRATORY_VS);
      expect(retired).toMatchObject({ result: false, inactive: true });
      const allowing = {
        resourceType: 'ValueSet',
        compose: { inactive: true, include: [{ system: ICD10 }] },
      };
      expect(await t.terminology.validateCode(t.ctx, { system: ICD10, code: 'J46' }, allowing)).toMatchObject(
        {
          result: true,
          inactive: true,
        },
      );
      expect((await t.terminology.validateCode(t.ctx, { code: 'R96' }, RESPIRATORY_VS)).result).toBe(true);
    });

    it('$validate-code answers for the R4 specification’s value sets (observation-status)', async () => {
      const vs = 'http://hl7.org/fhir/ValueSet/observation-status';
      expect(
        (
          await t.terminology.validateCode(
            t.ctx,
            { system: 'http://hl7.org/fhir/observation-status', code: 'final' },
            vs,
          )
        ).result,
      ).toBe(true);
      expect(
        (
          await t.terminology.validateCode(
            t.ctx,
            { system: 'http://hl7.org/fhir/observation-status', code: 'done' },
            vs,
          )
        ).result,
      ).toBe(false);
    });

    it('lists a value set’s codes for :in and refuses a set larger than the limit (search.html#token)', async () => {
      expect(await t.terminology.valueSetCodes(t.ctx, ASTHMA_VS, 10)).toEqual([
        { system: ICD10, code: 'J45' },
        { system: ICD10, code: 'J45.0' },
        { system: ICD10, code: 'J45.1' },
        { system: ICD10, code: 'J45.9' },
      ]);
      await expect(t.terminology.valueSetCodes(t.ctx, ASTHMA_VS, 3)).rejects.toThrow(/more than 3/);
    });

    it('$translate maps ICPC-2 to ICD-10 and back where the equivalence allows (conceptmap-operation-translate.html)', async () => {
      const forward = await t.terminology.translate(t.ctx, {
        coding: { system: ICPC2, code: 'R96' },
        targetSystem: ICD10,
      });
      expect(forward).toEqual([
        { equivalence: 'wider', concept: { system: ICD10, code: 'J45.0' }, source: ICPC2_TO_ICD10 },
        { equivalence: 'wider', concept: { system: ICD10, code: 'J45.9' }, source: ICPC2_TO_ICD10 },
      ]);
      const back = await t.terminology.translate(t.ctx, {
        coding: { system: ICD10, code: 'J45.9' },
        reverse: true,
      });
      expect(back).toEqual([
        { equivalence: 'narrower', concept: { system: ICPC2, code: 'R96' }, source: ICPC2_TO_ICD10 },
      ]);
      expect(await t.terminology.translate(t.ctx, { coding: { system: ICPC2, code: 'R05' } })).toEqual([]);
      expect(
        await t.terminology.translate(t.ctx, {
          coding: { system: ICPC2, code: 'R96' },
          conceptMap: 'urn:other',
        }),
      ).toEqual([]);
    });
  });
}
