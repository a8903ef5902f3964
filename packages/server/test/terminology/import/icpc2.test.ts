/**
 * The ICPC-2 importers: the English (Jembi/Sri Lanka) and Norwegian (Helsedirektoratet via
 * navikt) JSON code lists in ../shared/data, a semicolon-separated spreadsheet export, and the
 * shared structure (chapters as groups, the component as a property, extension codes).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ICPC2_URL, icpc2CodeShape } from '../../../src/terminology/import/icpc2.ts';
import { readIcpc2Csv } from '../../../src/terminology/import/icpc2-csv.ts';
import { readIcpc2Json } from '../../../src/terminology/import/icpc2-json.ts';
import { readTerminologySource } from '../../../src/terminology/import/terminology-formats.ts';
import { TerminologySourceError } from '../../../src/terminology/import/terminology-source-error.ts';
import { conceptsByCode, FIXTURES, hasSharedCodes, SHARED_CODES } from './import-test-support.ts';

describe('ICPC-2 code shape', () => {
  it('gives the chapter and the component of each code range (ICPC-2 components 1–7)', () => {
    expect(icpc2CodeShape('A03')).toEqual({ chapter: 'A', component: '1' });
    expect(icpc2CodeShape('K86')).toEqual({ chapter: 'K', component: '7' });
    expect(icpc2CodeShape('-30')).toEqual({ component: '2' });
    expect(icpc2CodeShape('-50')).toEqual({ component: '3' });
    expect(icpc2CodeShape('-60')).toEqual({ component: '4' });
    expect(icpc2CodeShape('-62')).toEqual({ component: '5' });
    expect(icpc2CodeShape('-67')).toEqual({ component: '6' });
    expect(icpc2CodeShape('R991')).toEqual({ chapter: 'R', component: '7' });
    expect(icpc2CodeShape('LKRFE01')).toBeUndefined();
    expect(icpc2CodeShape('C01')).toBeUndefined();
  });
});

describe('ICPC-2 CSV', () => {
  it('reads codes, titles, inclusions and criteria under their chapters, and leaves out local codes', async () => {
    const warnings: string[] = [];
    const content = await readIcpc2Csv(`${FIXTURES}icpc2/icpc2-mini.csv`, {
      version: '2e-test',
      onWarning: (message) => warnings.push(message),
    });
    expect(content.header).toMatchObject({ url: ICPC2_URL, version: '2e-test', language: 'en' });
    const concepts = await conceptsByCode(content.concepts);
    expect([...concepts.keys()].sort()).toEqual(['-30', 'A', 'A03', 'K', 'K86', 'R', 'R96', 'R991']);
    expect(warnings).toEqual(['XX1 (Local code) is not an ICPC-2 code; left out']);
    expect(concepts.get('R')).toEqual({ code: 'R', display: 'Respiratory', parents: [], selectable: false });
    expect(concepts.get('R96')).toEqual({
      code: 'R96',
      display: 'Asthma',
      definition: 'Recurrent episodes of wheezing and dyspnoea, reversible',
      parents: ['R'],
      properties: [{ code: 'component', value: { type: 'code', value: '7' } }],
      designations: [
        {
          language: 'en',
          use: { code: 'inclusion', display: 'Inclusion term' },
          value: 'reactive airways disease; wheezing, bronchitis with bronchospasm',
        },
      ],
    });
    expect(concepts.get('R991')).toMatchObject({
      parents: ['R'],
      designations: [{ value: 'Covid-19 (suspected or probable)' }],
    });
    expect(concepts.get('-30')).toMatchObject({ parents: [], properties: [{ value: { value: '2' } }] });
  });
});

describe('ICPC-2 by file type (the icpc2 format)', () => {
  it('reads ClaML with the ICPC-2 URL and the title’s version', async () => {
    const source = await readTerminologySource('icpc2', `${FIXTURES}icpc2/icpc2-mini.claml.xml`, {});
    if (source.kind !== 'code-system') throw new Error('expected a code system');
    expect(source.content.header).toMatchObject({ url: ICPC2_URL, version: '2e-v7' });
    const concepts = await conceptsByCode(source.content.concepts);
    expect(concepts.get('R')).toMatchObject({ selectable: false, parents: [] });
    expect(concepts.get('R96')).toMatchObject({
      display: 'Asthma',
      parents: ['R'],
      designations: [{ use: { code: 'inclusion' }, value: 'reactive airways disease' }],
    });
  });

  it('needs --version for JSON and CSV, and takes --url over the usual one', async () => {
    await expect(readTerminologySource('icpc2', `${FIXTURES}icpc2/icpc2-mini.csv`, {})).rejects.toThrow(
      TerminologySourceError,
    );
    const source = await readTerminologySource('icpc2', `${FIXTURES}icpc2/icpc2-mini.csv`, {
      version: '1',
      url: 'http://example.org/icpc-2-local',
    });
    expect(source.kind === 'code-system' && source.content.header.url).toBe(
      'http://example.org/icpc-2-local',
    );
  });

  it('reads back any titles a spreadsheet writes, quoted, with ; or , as separator (property)', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'icpc2-csv-'));
    try {
      const row = fc.record({
        code: fc.constantFrom('A03', 'R96', 'K86', 'P76', '-30', 'W78'),
        title: fc
          .string({ minLength: 1, maxLength: 40 })
          .filter((title) => title.trim() === title && title !== ''),
      });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(row, { selector: (r) => r.code, minLength: 1 }),
          fc.constantFrom(';', ','),
          async (rows, separator) => {
            run += 1;
            const quote = (cell: string) => `"${cell.replaceAll('"', '""')}"`;
            const lines = [
              `Code${separator}Title`,
              ...rows.map((r) => `${quote(r.code)}${separator}${quote(r.title)}`),
            ];
            const path = join(folder, `run-${run}.csv`);
            await writeFile(path, `${lines.join('\r\n')}\r\n`);
            const content = await readTerminologySource('icpc2', path, { version: 'p' });
            if (content.kind !== 'code-system') throw new Error('expected a code system');
            const concepts = await conceptsByCode(content.content.concepts);
            for (const r of rows) expect(concepts.get(r.code)?.display).toBe(r.title);
          },
        ),
        { numRuns: 50 },
      );
    } finally {
      await rm(folder, { recursive: true });
    }
  });
});

const ICPC2_DATA = 'icpc2/';

describe.skipIf(!hasSharedCodes(ICPC2_DATA))('ICPC-2 JSON distributions (../shared/data)', () => {
  it('reads the 726 ICPC-2 codes of the English list and leaves out its 133 Sri Lankan local codes', async () => {
    const warnings: string[] = [];
    const content = await readIcpc2Json(`${SHARED_CODES}${ICPC2_DATA}ICPC2.en-short.jembi-sri-lanka.json`, {
      version: '2',
      onWarning: (message) => warnings.push(message),
    });
    expect(content.header.language).toBe('en');
    const concepts = await conceptsByCode(content.concepts);
    expect(warnings.length).toBe(133);
    expect(concepts.size).toBe(726 + 17);
    expect(concepts.get('A03')).toMatchObject({ display: 'Fever', parents: ['A'] });
    expect(concepts.get('-30')).toMatchObject({
      display: 'Medical examin/health eval complete',
      parents: [],
    });
    expect(concepts.get('Z')).toMatchObject({ display: 'Social problems', selectable: false });
  });

  it('reads the 708 Norwegian codes (language nb), national extensions under their category or chapter', async () => {
    const content = await readIcpc2Json(
      `${SHARED_CODES}${ICPC2_DATA}ICPC2.no.navikt-diagnosekoder-1.2026.0.json`,
      {
        version: '2026-nb',
      },
    );
    expect(content.header).toMatchObject({ url: ICPC2_URL, language: 'nb', version: '2026-nb' });
    const concepts = await conceptsByCode(content.concepts);
    const chapters = [...concepts.values()].filter((concept) => concept.selectable === false);
    expect(concepts.size - chapters.length).toBe(708);
    expect(concepts.get('A03')).toMatchObject({ display: 'Feber', parents: ['A'] });
    expect(concepts.get('R992')).toMatchObject({ display: 'Covid-19 (bekreftet)' });
    expect(concepts.get('R')).toMatchObject({ display: 'Luftveier' });
    const orphans = [...concepts.values()].filter((concept) =>
      concept.parents.some((parent) => !concepts.has(parent)),
    );
    expect(orphans).toEqual([]);
  });
});
