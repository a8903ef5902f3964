import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImportFile } from '../../src/import/import-file-reader.ts';
import type { ImportItem } from '../../src/import/import-item.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/import');

async function itemsOf(path: string): Promise<ImportItem[]> {
  const items: ImportItem[] = [];
  for await (const item of readImportFile(path)) items.push(item);
  return items;
}

describe('readImportFile', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'concordia-import-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('parses a .json file whole into one value', async () => {
    const items = await itemsOf(join(FIXTURES, 'transaction.json'));
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'value', value: { resourceType: 'Bundle', type: 'transaction' } });
  });

  it('reads NDJSON line by line, skips blank lines and reports a bad line with its number', async () => {
    const file = join(FIXTURES, 'resources-with-bad-line.ndjson');
    const items = await itemsOf(file);
    expect(items.map((item) => item.kind)).toEqual(['value', 'unreadable', 'value']);
    expect(items[0]).toMatchObject({ location: { file, line: 1 }, value: { id: 'ndjson-1' } });
    expect(items[1]).toMatchObject({
      location: { file, line: 3 },
      reason: expect.stringMatching(/^not valid JSON/),
    });
    expect(items[2]).toMatchObject({ location: { file, line: 4 }, value: { gender: 'female' } });
  });

  it('gunzips .ndjson.gz and .json.gz on the fly', async () => {
    const ndjson = await readFile(join(FIXTURES, 'resources-with-bad-line.ndjson'));
    const ndjsonGz = join(scratch, 'Patient.ndjson.gz');
    await writeFile(ndjsonGz, gzipSync(ndjson));
    expect((await itemsOf(ndjsonGz)).map((item) => item.kind)).toEqual(['value', 'unreadable', 'value']);

    const jsonGz = join(scratch, 'patient.json.gz');
    await writeFile(jsonGz, gzipSync(await readFile(join(FIXTURES, 'patient-with-id.json'))));
    expect(await itemsOf(jsonGz)).toMatchObject([{ kind: 'value', value: { id: 'import-fixture-patient' } }]);
  });

  it('accepts a UTF-8 byte order mark', async () => {
    const file = join(scratch, 'bom.json');
    await writeFile(file, `\uFEFF${JSON.stringify({ resourceType: 'Patient', id: 'bom' })}`);
    expect(await itemsOf(file)).toMatchObject([{ kind: 'value', value: { id: 'bom' } }]);
  });

  it('reports a malformed .json file as one unreadable item', async () => {
    const file = join(scratch, 'broken.json');
    await writeFile(file, '{"resourceType": "Patient",');
    expect(await itemsOf(file)).toMatchObject([{ kind: 'unreadable', location: { file } }]);
  });

  it('fails the iteration when a .gz file is corrupt, so the importer can report the file', async () => {
    const file = join(scratch, 'corrupt.ndjson.gz');
    await writeFile(file, 'this is not gzip');
    await expect(itemsOf(file)).rejects.toThrow();
  });
});
