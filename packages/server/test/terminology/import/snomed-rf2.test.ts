/** The SNOMED CT RF2 Snapshot importer on a hand-made release folder of seven concepts. */
import { describe, expect, it } from 'vitest';
import { readSnomedRf2, SNOMED_URL, SnomedRf2Error } from '../../../src/terminology/import/snomed-rf2.ts';
import { conceptsByCode, FIXTURES } from './import-test-support.ts';

const RELEASE = `${FIXTURES}snomed-rf2/SnomedCT_Test_20200731`;
const FSN_USE = { system: SNOMED_URL, code: '900000000000003001', display: 'Fully specified name' };
const SYNONYM_USE = { system: SNOMED_URL, code: '900000000000013009', display: 'Synonym' };

describe('SNOMED CT RF2 Snapshot', () => {
  it('versions the edition as the FHIR SNOMED CT page says (module of the root, release date)', async () => {
    const { header } = await readSnomedRf2(RELEASE);
    expect(header).toMatchObject({
      url: SNOMED_URL,
      version: 'http://snomed.info/sct/900000000000207008/version/20200731',
      hierarchyMeaning: 'is-a',
    });
    expect((await readSnomedRf2(RELEASE, { version: '20210131' })).header.version).toBe(
      'http://snomed.info/sct/900000000000207008/version/20210131',
    );
  });

  it('takes parents from active is-a relationships and the US English preferred term as display', async () => {
    const concepts = await conceptsByCode((await readSnomedRf2(RELEASE)).concepts);
    expect(concepts.size).toBe(7);
    expect(concepts.get('138875005')?.parents).toEqual([]);
    expect(concepts.get('195967001')).toEqual({
      code: '195967001',
      display: 'Asthma',
      parents: ['64572001'],
      designations: [
        { language: 'en', use: FSN_USE, value: 'Asthma (disorder)' },
        { language: 'en', use: SYNONYM_USE, value: 'Asthma' },
        { language: 'en', use: SYNONYM_USE, value: 'Bronchial asthma' },
      ],
      properties: [
        { code: 'moduleId', value: { type: 'code', value: '900000000000207008' } },
        { code: 'sufficientlyDefined', value: { type: 'boolean', value: false } },
      ],
    });
    expect(concepts.get('233678006')).toMatchObject({
      display: 'Pediatric asthma',
      parents: ['195967001'],
      properties: [{ code: 'moduleId' }, { code: 'sufficientlyDefined', value: { value: true } }],
    });
  });

  it('keeps an inactive concept as inactive, without the parents of its inactive relationships', async () => {
    const concepts = await conceptsByCode((await readSnomedRf2(RELEASE)).concepts);
    expect(concepts.get('155574008')).toMatchObject({ active: false, parents: [], display: 'Asthma' });
  });

  it('uses another language reference set’s preferred term when asked (GB English)', async () => {
    const content = await readSnomedRf2(RELEASE, { languageRefset: '900000000000508004' });
    const concepts = await conceptsByCode(content.concepts);
    expect(concepts.get('233678006')?.display).toBe('Paediatric asthma');
    await expect(
      conceptsByCode((await readSnomedRf2(RELEASE, { languageRefset: '1' })).concepts),
    ).rejects.toThrow(SnomedRf2Error);
  });

  it('says which files it needs when the folder is not an RF2 release', async () => {
    await expect(readSnomedRf2(`${FIXTURES}icpc2`)).rejects.toThrow(/sct2_Concept_Snapshot/);
  });
});
