/**
 * The ICD-10-CM importers: CDC's tabular list (hierarchy, 7th characters, inclusion terms), the
 * order file (fixed width, billable flag) and both together, on a small hand-made release and on
 * the real FY2021 files in ../shared/data when present.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ICD10CM_URL } from '../../../src/terminology/import/icd10cm.ts';
import {
  formatOrderLine,
  type OrderFileEntry,
  parseOrderLine,
  readIcd10cmOrderFile,
  releaseYearFromName,
} from '../../../src/terminology/import/icd10cm-order.ts';
import { Icd10cmSourceError, readIcd10cmRelease } from '../../../src/terminology/import/icd10cm-release.ts';
import { readIcd10cmTabular, withSeventhCharacter } from '../../../src/terminology/import/icd10cm-tabular.ts';
import { conceptsByCode, FIXTURES, hasSharedCodes, SHARED_CODES } from './import-test-support.ts';

const MINI = `${FIXTURES}icd10cm/`;
const TABULAR = `${MINI}icd10cm_tabular_2021-mini.xml`;
const ORDER = `${MINI}icd10cm-order-2021-mini.txt`;

describe('ICD-10-CM tabular list', () => {
  it('reads chapters and sections as non-selectable groups above the diag hierarchy', async () => {
    const content = await readIcd10cmTabular(TABULAR);
    expect(content.header).toMatchObject({ url: ICD10CM_URL, version: '2021', hierarchyMeaning: 'is-a' });
    const concepts = await conceptsByCode(content.concepts);
    expect(concepts.get('A00-B99')).toEqual({
      code: 'A00-B99',
      display: 'Certain infectious and parasitic diseases (A00-B99)',
      parents: [],
      selectable: false,
    });
    expect(concepts.get('A00-A09')).toMatchObject({ parents: ['A00-B99'], selectable: false });
    expect(concepts.get('A00')).toMatchObject({ parents: ['A00-A09'], selectable: false });
    expect(concepts.get('A00.0')).toEqual({
      code: 'A00.0',
      display: 'Cholera due to Vibrio cholerae 01, biovar cholerae',
      parents: ['A00'],
      selectable: true,
      designations: [
        { language: 'en', use: { code: 'inclusion', display: 'Inclusion term' }, value: 'Classical cholera' },
      ],
    });
  });

  it('keeps a one-category section apart from its category (B10-B10 above B10)', async () => {
    const concepts = await conceptsByCode((await readIcd10cmTabular(TABULAR)).concepts);
    expect(concepts.get('B10-B10')).toMatchObject({ parents: ['A00-B99'], selectable: false });
    expect(concepts.get('B10')).toMatchObject({ parents: ['B10-B10'] });
  });

  it('generates the 7th-character codes a sevenChrDef implies, with placeholder X, under the leaf', async () => {
    const concepts = await conceptsByCode((await readIcd10cmTabular(TABULAR)).concepts);
    expect(concepts.get('S00.00')).toMatchObject({ parents: ['S00.0'], selectable: false });
    expect(concepts.get('S00.00XA')).toEqual({
      code: 'S00.00XA',
      display: 'Unspecified superficial injury of scalp, initial encounter',
      parents: ['S00.00'],
    });
    expect([...concepts.keys()].filter((code) => code.startsWith('S00.01'))).toEqual([
      'S00.01',
      'S00.01XA',
      'S00.01XD',
      'S00.01XS',
    ]);
    expect(withSeventhCharacter('T36.0X1', 'A')).toBe('T36.0X1A');
    expect(withSeventhCharacter('S02', 'B')).toBe('S02.XXXB');
  });

  it('takes the version from <version> unless told', async () => {
    expect((await readIcd10cmTabular(TABULAR, { version: '2021-jan' })).header.version).toBe('2021-jan');
  });
});

describe('ICD-10-CM order file', () => {
  it('reads dotted codes, billable flags, both titles and parents from the longest listed prefix', async () => {
    const content = readIcd10cmOrderFile(ORDER);
    expect(content.header.version).toBe('2021');
    const concepts = await conceptsByCode(content.concepts);
    expect(concepts.size).toBe(14);
    expect(concepts.get('A00')).toMatchObject({ parents: [], selectable: false });
    expect(concepts.get('S00.00XD')).toEqual({
      code: 'S00.00XD',
      display: 'Unspecified superficial injury of scalp, subsequent encounter',
      parents: ['S00.00'],
      selectable: true,
      properties: [
        {
          code: 'short-title',
          value: { type: 'string', value: 'Unspecified superficial injury of scalp, subs encntr' },
        },
      ],
    });
    expect([...concepts.values()].filter((concept) => concept.selectable).length).toBe(8);
  });

  it('reads a gzipped copy the same way', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'icd10cm-'));
    try {
      const gz = join(folder, 'icd10cm_order_2021.txt.gz');
      await writeFile(gz, gzipSync(await import('node:fs/promises').then((fs) => fs.readFile(ORDER))));
      const plain = await conceptsByCode(readIcd10cmOrderFile(ORDER).concepts);
      const zipped = await conceptsByCode(readIcd10cmOrderFile(gz).concepts);
      expect([...zipped.values()]).toEqual([...plain.values()]);
    } finally {
      await rm(folder, { recursive: true });
    }
  });

  it('names the line that is not an order-file line', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'icd10cm-'));
    try {
      const path = join(folder, 'icd10cm_order_2021.txt');
      await writeFile(path, '00001 A00     0 Cholera\r\nnot a line\r\n');
      await expect(conceptsByCode(readIcd10cmOrderFile(path).concepts)).rejects.toThrow(
        /icd10cm_order_2021.txt:2/,
      );
    } finally {
      await rm(folder, { recursive: true });
    }
  });

  it('asks for the version when the file name has no year', () => {
    expect(() => readIcd10cmOrderFile('/tmp/codes.txt')).toThrow(/pass the version/);
    expect(releaseYearFromName('/x/icd10cm-order-Jan-2021.txt.gz')).toBe('2021');
  });

  it('parses every line it formats (property)', () => {
    const title = fc
      .string({ minLength: 1, maxLength: 60, unit: fc.constantFrom(...'abcdefghij ,-()[]XYZ019'.split('')) })
      .map((text) => text.trim())
      .filter((text) => text !== '');
    const entry = fc.record<OrderFileEntry>({
      order: fc.integer({ min: 0, max: 99_999 }),
      code: fc.stringMatching(/^[A-Z][0-9][0-9A-Z]{1,5}$/),
      billable: fc.boolean(),
      shortTitle: title,
      longTitle: fc
        .string({ minLength: 1, maxLength: 200 })
        .map((text) => text.trim())
        .filter((text) => text !== ''),
    });
    fc.assert(
      fc.property(entry, (value) => {
        expect(parseOrderLine(formatOrderLine(value))).toEqual(value);
      }),
    );
  });

  it('rejects lines whose fixed columns are not what the layout says (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (line) => {
        const parsed = parseOrderLine(line);
        if (parsed !== undefined) expect(line.slice(0, 5)).toMatch(/^\d{5}$/);
      }),
    );
    expect(parseOrderLine('00001 A00     2 Cholera')).toBeUndefined();
    expect(parseOrderLine('0001 A00      0 Cholera')).toBeUndefined();
  });
});

describe('ICD-10-CM release (tabular list and order file together)', () => {
  it('lists the order file’s codes under the tabular hierarchy and leaves out withdrawn combinations', async () => {
    const warnings: string[] = [];
    const content = await readIcd10cmRelease(MINI, { onWarning: (message) => warnings.push(message) });
    const concepts = await conceptsByCode(content.concepts);
    // 14 codes of the order file + 2 chapters + 3 sections; S00.01XS is implied by the tabular
    // list but not in the order file.
    expect(concepts.size).toBe(19);
    expect(concepts.has('S00.01XS')).toBe(false);
    expect(warnings).toEqual(['1 codes of the tabular list are not in the order file and were left out']);
    expect(concepts.get('A00.0')).toMatchObject({
      parents: ['A00'],
      selectable: true,
      designations: [{ value: 'Classical cholera' }],
      properties: [{ code: 'short-title' }],
    });
    expect(concepts.get('A00')).toMatchObject({ parents: ['A00-A09'] });
  });

  it('recognises a single file by its content, whatever its name', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'icd10cm-'));
    try {
      await copyFile(TABULAR, join(folder, 'release-2021.dat'));
      const concepts = await conceptsByCode(
        (await readIcd10cmRelease(join(folder, 'release-2021.dat'))).concepts,
      );
      expect(concepts.has('S00.01XS')).toBe(true);
      await writeFile(join(folder, 'notes-2021.txt'), 'hello\n');
      await expect(readIcd10cmRelease(join(folder, 'notes-2021.txt'))).rejects.toThrow(Icd10cmSourceError);
    } finally {
      await rm(folder, { recursive: true });
    }
  });
});

const CDC_2021 = 'icd10cm-2021-cdc/';

describe.skipIf(!hasSharedCodes(CDC_2021))('ICD-10-CM FY2021 release files (../shared/data)', () => {
  it('reads the 95,358 codes of the order file, 72,621 of them billable (SOURCES.md)', async () => {
    const content = readIcd10cmOrderFile(`${SHARED_CODES}${CDC_2021}icd10cm-order-Jan-2021.txt.gz`);
    const concepts = await conceptsByCode(content.concepts);
    expect(concepts.size).toBe(95_358);
    expect([...concepts.values()].filter((concept) => concept.selectable).length).toBe(72_621);
    expect(concepts.get('T36.0X1A')).toMatchObject({ parents: ['T36.0X1'], selectable: true });
    const orphans = [...concepts.values()].filter((concept) =>
      concept.parents.some((parent) => !concepts.has(parent)),
    );
    expect(orphans).toEqual([]);
  });

  it('merges the tabular list: 22 chapters, 296 sections, every parent present', async () => {
    const content = await readIcd10cmRelease(`${SHARED_CODES}${CDC_2021}`);
    expect(content.header.version).toBe('2021');
    const concepts = await conceptsByCode(content.concepts);
    const values = [...concepts.values()];
    expect(concepts.size).toBe(95_358 + 22 + 296);
    expect(values.filter((concept) => concept.parents.length === 0).length).toBe(22);
    expect(values.filter((concept) => concept.parents.some((parent) => !concepts.has(parent)))).toEqual([]);
    expect(values.filter((concept) => concept.selectable !== false).length).toBe(72_621);
    expect(concepts.get('E08.3211')).toMatchObject({ parents: ['E08.321'], selectable: true });
    expect(concepts.get('A00')).toMatchObject({ parents: ['A00-A09'], selectable: false });
  });
});
