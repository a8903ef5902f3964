/**
 * The demo's hand-written ICD-10 and ICPC-2 slice (demo/demo-terminology.ts), loaded as `npm start`
 * loads it: every diagnosis the demo patients carry is a valid code with the display the demo uses,
 * ICPC-2 answers in Norwegian, and primary-care codes translate to ICD-10.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONDITIONS, SYSTEMS } from '../../src/demo/clinical-catalogue.ts';
import { loadDemoData } from '../../src/demo/load-demo-data.ts';
import { testDatabases } from '../support/databases.ts';
import { createTerminologyComponents, type TerminologyComponents } from './terminology-components.ts';

for (const database of testDatabases()) {
  describe(`the demo terminology on ${database.name}`, () => {
    let t: TerminologyComponents;
    beforeAll(async () => {
      t = await createTerminologyComponents(database);
      const history = { history: async () => ({ versions: [] }) };
      expect(await loadDemoData(t.core, history)).toMatchObject({ loaded: true });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('knows every demo diagnosis in both classifications, with the demo’s display', async () => {
      for (const condition of CONDITIONS) {
        for (const [system, coding] of [
          [SYSTEMS.icd10, condition.icd10],
          [SYSTEMS.icpc2, condition.icpc2],
        ] as const) {
          const result = await t.terminology.validateCode(t.ctx, { system, ...coding });
          expect(result, `${system}|${coding.code}`).toEqual({ result: true, display: coding.display });
        }
      }
    });

    it('refuses a chapter as a code but keeps it in the hierarchy ($subsumes)', async () => {
      expect(await t.terminology.subsumes(t.ctx, SYSTEMS.icd10, 'X', 'J45.9')).toBe('subsumes');
      const chapter = await t.terminology.expand(t.ctx, {
        valueSet: 'http://concordia.example/fhir/ValueSet/respiratory-diagnoses',
        filter: 'astma',
        displayLanguage: 'nb',
      });
      expect(chapter.contains).toEqual([
        { system: SYSTEMS.icpc2, version: 'demo', code: 'R96', display: 'Astma' },
      ]);
    });

    it('translates ICPC-2 R96 Asthma to ICD-10 J45.x', async () => {
      const matches = await t.terminology.translate(t.ctx, {
        coding: { system: SYSTEMS.icpc2, code: 'R96' },
        targetSystem: SYSTEMS.icd10,
      });
      expect(matches.map((match) => match.concept.code).sort()).toEqual(['J45.0', 'J45.9']);
    });
  });
}
