/**
 * The terminology service on the real ICD-10-CM FY2021 release (../shared/data, SOURCES.md),
 * imported with the order-file importer: the operations answer on 95,358 codes as on the small
 * fixtures. Speed is measured by scripts/measure-terminology.ts, not here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICD10CM_URL } from '../../src/terminology/import/icd10cm.ts';
import { readIcd10cmOrderFile } from '../../src/terminology/import/icd10cm-order.ts';
import { loadCodeSystem } from '../../src/terminology/load-code-system.ts';
import { testDatabases } from '../support/databases.ts';
import { createTerminologyComponents, type TerminologyComponents } from './terminology-components.ts';

const ORDER_FILE = join(
  import.meta.dirname,
  '../../../../../shared/data/codes/icd10cm-2021-cdc/icd10cm-order-Jan-2021.txt.gz',
);

for (const database of testDatabases()) {
  describe.runIf(existsSync(ORDER_FILE))(
    `ICD-10-CM 2021 in the terminology service on ${database.name}`,
    () => {
      let t: TerminologyComponents;
      beforeAll(async () => {
        t = await createTerminologyComponents(database);
        expect(await loadCodeSystem(t.db, readIcd10cmOrderFile(ORDER_FILE))).toEqual({
          concepts: 95_358,
          version: '2021',
        });
      }, 300_000);
      afterAll(async () => {
        await t?.close();
      });

      it('validates billable and header codes and refuses unknown ones', async () => {
        expect(await t.terminology.validateCode(t.ctx, { system: ICD10CM_URL, code: 'E11.9' })).toMatchObject(
          {
            result: true,
            display: 'Type 2 diabetes mellitus without complications',
          },
        );
        expect(
          (await t.terminology.validateCode(t.ctx, { system: ICD10CM_URL, code: 'E11.99' })).result,
        ).toBe(false);
      });

      it('knows the hierarchy of the order file: E11 subsumes E11.65, S72.001A sits under S72', async () => {
        expect(await t.terminology.subsumes(t.ctx, ICD10CM_URL, 'E11', 'E11.65')).toBe('subsumes');
        expect(await t.terminology.codesAbove(t.ctx, ICD10CM_URL, 'S72.001A', 10)).toContain('S72');
      });

      it('filters the whole code system by word prefixes and pages the result', async () => {
        const valueSet = { resourceType: 'ValueSet', compose: { include: [{ system: ICD10CM_URL }] } };
        const page = await t.terminology.expand(t.ctx, {
          valueSet,
          filter: 'type 2 diab without compl',
          count: 5,
        });
        expect(page.contains.map((member) => member.code)).toContain('E11.9');
        const next = await t.terminology.expand(t.ctx, {
          valueSet,
          filter: 'fract femur',
          offset: 5,
          count: 5,
        });
        expect(next.total).toBeGreaterThan(1_000);
        expect(next.contains).toHaveLength(5);
      });
    },
  );
}
