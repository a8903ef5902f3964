/**
 * The ClaML 2.0 reader (ISO 13120, as WHO publishes ICD-10) on a hand-written excerpt: classes,
 * SuperClass links, rubrics by kind and language, Meta, usage, and malformed input.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClamlFormatError, readClaml } from '../../../src/terminology/import/claml.ts';
import { XmlFormatError } from '../../../src/terminology/import/xml-subtrees.ts';
import { conceptsByCode, FIXTURES } from './import-test-support.ts';

const ICD10_MINI = `${FIXTURES}claml/icd10-mini.xml`;

describe('ClaML', () => {
  it('takes the header from <Title>: the ICD-10 URL, the version, the labels’ language', async () => {
    const { header } = await readClaml(ICD10_MINI);
    expect(header).toMatchObject({
      url: 'http://hl7.org/fhir/sid/icd-10',
      version: '2019',
      name: 'ICD10',
      title: 'International Statistical Classification of Diseases and Related Health Problems 10th Revision',
      language: 'en',
      hierarchyMeaning: 'is-a',
    });
  });

  it('reads chapters and blocks as non-selectable, categories under their SuperClass', async () => {
    const concepts = await conceptsByCode((await readClaml(ICD10_MINI)).concepts);
    expect([...concepts.keys()].slice(0, 9)).toEqual([
      'I',
      'A00-A09',
      'A00',
      'A00.0',
      'A00.9',
      'A01',
      'A15-A19',
      'A17',
      'A17.0',
    ]);
    expect(concepts.get('I')).toEqual({
      code: 'I',
      display: 'Certain infectious and parasitic diseases',
      parents: [],
      designations: [
        {
          language: 'de',
          use: { code: 'preferred' },
          value: 'Bestimmte infektiöse und parasitäre Krankheiten',
        },
      ],
      properties: [
        { code: 'kind', value: { type: 'code', value: 'chapter' } },
        {
          code: 'exclusion',
          value: { type: 'string', value: 'influenza and other acute respiratory infections (J00-J22)' },
        },
      ],
      selectable: false,
    });
    expect(concepts.get('A00-A09')).toMatchObject({ parents: ['I'], selectable: false });
    expect(concepts.get('A00')).toEqual({
      code: 'A00',
      display: 'Cholera',
      parents: ['A00-A09'],
      properties: [
        { code: 'kind', value: { type: 'code', value: 'category' } },
        { code: 'MortL1Code', value: { type: 'string', value: '1-002' } },
      ],
    });
    expect(concepts.get('A00.0')).toMatchObject({
      parents: ['A00'],
      designations: [{ language: 'en', use: { code: 'inclusion' }, value: 'Classical cholera' }],
    });
    expect(concepts.get('A01')?.properties).toContainEqual({
      code: 'note',
      value: { type: 'string', value: 'Use additional code, if desired, to identify the organism.' },
    });
    expect(concepts.get('A17.0')).toMatchObject({
      display: 'Tuberculous meningitis (G01)',
      properties: [
        { code: 'kind', value: { type: 'code', value: 'category' } },
        { code: 'usage', value: { type: 'code', value: 'dagger' } },
      ],
    });
  });

  it('makes the codes that modifiers define: E10 + .0 → E10.0, I70.2 + 0 → I70.20, not under ExcludeModifier', async () => {
    const warnings: string[] = [];
    const content = await readClaml(ICD10_MINI, { onWarning: (message) => warnings.push(message) });
    const concepts = await conceptsByCode(content.concepts);
    expect(concepts.size).toBe(22);
    expect(concepts.get('E10.0')).toEqual({
      code: 'E10.0',
      display: 'Type 1 diabetes mellitus (With coma)',
      parents: ['E10'],
      properties: [
        { code: 'kind', value: { type: 'code', value: 'category' } },
        { code: 'modifier', value: { type: 'code', value: 'S04E10_4' } },
      ],
    });
    expect([...concepts.keys()].filter((code) => /^(E10|I70)\./.test(code))).toEqual([
      'I70.0',
      'I70.2',
      'E10.0',
      'E10.1',
      'E10.9',
      'I70.20',
      'I70.21',
    ]);
    expect(concepts.get('I70.21')).toMatchObject({
      display: 'Atherosclerosis of arteries of extremities (with gangrene)',
      parents: ['I70.2'],
    });
    expect(warnings).toEqual([]);
  });

  it('reports the modifiers it does not expand: on a block, and a bare digit on a three-character code', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'claml-'));
    try {
      const path = join(folder, 'modifiers.xml');
      await writeFile(
        path,
        `<ClaML version="2.0.0"><Title name="ICD-10" version="2019">ICD-10</Title>
        <ModifierClass modifier="S13M40_5" code="0"><Rubric kind="preferred"><Label xml:lang="en">Multiple sites</Label></Rubric></ModifierClass>
        <Class code="M40-M43" kind="block"><ModifiedBy code="S13M40_5"/><SubClass code="M45"/>
          <Rubric kind="preferred"><Label xml:lang="en">Deforming dorsopathies</Label></Rubric></Class>
        <Class code="M45" kind="category"><SuperClass code="M40-M43"/><ModifiedBy code="S13M40_5"/>
          <Rubric kind="preferred"><Label xml:lang="en">Ankylosing spondylitis</Label></Rubric></Class>
        </ClaML>`,
      );
      const warnings: string[] = [];
      const concepts = await conceptsByCode(
        (await readClaml(path, { onWarning: (m) => warnings.push(m) })).concepts,
      );
      expect([...concepts.keys()]).toEqual(['M40-M43', 'M45']);
      expect(warnings).toEqual([
        'M40-M43: modifier S13M40_5 on a block is not expanded',
        'M45: modifier S13M40_5 digit 0 on a three-character code; not expanded',
      ]);
    } finally {
      await rm(folder, { recursive: true });
    }
  });

  it('shows another language’s labels as display when asked', async () => {
    const concepts = await conceptsByCode((await readClaml(ICD10_MINI, { language: 'de' })).concepts);
    expect(concepts.get('I')?.display).toBe('Bestimmte infektiöse und parasitäre Krankheiten');
    expect(concepts.get('I')?.designations).toEqual([
      { language: 'en', use: { code: 'preferred' }, value: 'Certain infectious and parasitic diseases' },
    ]);
    // No German label: the English one rather than none.
    expect(concepts.get('A00')?.display).toBe('Cholera');
  });

  it('honours --url and --version over the title', async () => {
    const { header } = await readClaml(ICD10_MINI, {
      url: 'http://example.org/icd-10-national',
      version: '2019-nat',
    });
    expect(header).toMatchObject({ url: 'http://example.org/icd-10-national', version: '2019-nat' });
  });

  it('fails on XML that is not well formed (with its line), and on a file that is not ClaML', async () => {
    const { concepts } = await readClaml(`${FIXTURES}claml/broken.xml`);
    const failure = await conceptsByCode(concepts).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(XmlFormatError);
    expect((failure as Error).message).toMatch(/broken\.xml:9:10: unexpected close tag/);
    await expect(readClaml(`${FIXTURES}icd10cm/icd10cm_tabular_2021-mini.xml`)).rejects.toThrow(
      ClamlFormatError,
    );
  });
});
