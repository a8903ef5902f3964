/**
 * The importers end to end into the concept tables (PGlite, and PostgreSQL when DATABASE_URL is
 * set): every format loads, loading again gives the same counts (idempotent), and the `fhir`
 * format stores the resources through the FHIR core so that they are found by canonical URL.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemContext } from '../../../src/access/request-context.ts';
import { loadConfig } from '../../../src/config.ts';
import type { FhirCore } from '../../../src/fhir/interaction.ts';
import { buildComponents } from '../../../src/main.ts';
import { createLogger } from '../../../src/ops/logger.ts';
import type { Database } from '../../../src/store/database.ts';
import { sql } from '../../../src/store/sql.ts';
import { readClaml } from '../../../src/terminology/import/claml.ts';
import { readIcd10cmRelease } from '../../../src/terminology/import/icd10cm-release.ts';
import { readIcpc2Csv } from '../../../src/terminology/import/icpc2-csv.ts';
import { readIcpc2Icd10Map } from '../../../src/terminology/import/icpc2-icd10-map.ts';
import { importFhirTerminology } from '../../../src/terminology/import/import-fhir-terminology.ts';
import { readLoinc } from '../../../src/terminology/import/loinc.ts';
import { readSnomedRf2 } from '../../../src/terminology/import/snomed-rf2.ts';
import { loadCodeSystem, loadConceptMap } from '../../../src/terminology/load-code-system.ts';
import { testDatabases } from '../../support/databases.ts';
import { FIXTURES, hasSharedCodes, SHARED_CODES } from './import-test-support.ts';

for (const database of testDatabases()) {
  describe(`terminology imports into ${database.name}`, () => {
    let db: Database;
    let core: FhirCore;
    beforeEach(async () => {
      db = await database.create();
      const config = loadConfig({ LOG_LEVEL: 'silent', CONCORDIA_BASE_URL: 'http://fhir.test' });
      core = (await buildComponents(db, config, createLogger(config))).core;
    });
    afterEach(async () => {
      await db?.close();
    });

    async function conceptCount(url: string): Promise<number> {
      const [row] = await db.query(sql`select count(*)::int as n from concept c
        join code_system s on s.id = c.code_system_id where s.url = ${url}`);
      return Number(row?.n);
    }

    it('loads each file format, and loading again keeps the same counts (idempotent)', async () => {
      const loads = [
        () => readIcd10cmRelease(`${FIXTURES}icd10cm`),
        () => readClaml(`${FIXTURES}claml/icd10-mini.xml`),
        () => readIcpc2Csv(`${FIXTURES}icpc2/icpc2-mini.csv`, { version: 'test' }),
        async () => readLoinc(`${FIXTURES}loinc/Loinc_2.76/LoincTable/Loinc.csv`),
        () => readSnomedRf2(`${FIXTURES}snomed-rf2/SnomedCT_Test_20200731`),
      ];
      const first: number[] = [];
      for (const read of loads) first.push((await loadCodeSystem(db, await read())).concepts);
      expect(first).toEqual([19, 22, 8, 6, 7]);
      const again: number[] = [];
      for (const read of loads) again.push((await loadCodeSystem(db, await read())).concepts);
      expect(again).toEqual(first);
      expect(await conceptCount('http://hl7.org/fhir/sid/icd-10-cm')).toBe(19);
      const [inactive] =
        await db.query(sql`select c.active from concept c join code_system s on s.id = c.code_system_id
        where s.url = 'http://loinc.org' and c.code = '1554-5'`);
      expect(inactive).toEqual({ active: false });
    });

    it('loads the ICPC-2 → ICD-10 table as a concept map, replacing it on a second load', async () => {
      const read = () => readIcpc2Icd10Map(`${FIXTURES}maps/icpc2-icd10-mini.csv`, { version: '2024' });
      expect(await loadConceptMap(db, await read())).toEqual({ elements: 7 });
      expect(await loadConceptMap(db, await read())).toEqual({ elements: 7 });
      const [row] = await db.query(sql`select count(*)::int as n from concept_map_element`);
      expect(row).toEqual({ n: 7 });
    });

    it('stores CodeSystem, ValueSet and ConceptMap resources through the core and fills the tables', async () => {
      const summary = await importFhirTerminology({ core }, `${FIXTURES}fhir/package`);
      expect(summary).toMatchObject({
        resources: 3,
        codeSystems: 1,
        concepts: 5,
        conceptMaps: 1,
        mapElements: 2,
        skipped: 1,
      });
      expect(summary.failures).toEqual([]);
      const found = await core.handle(systemContext('test'), {
        method: 'GET',
        path: 'ValueSet',
        query: [['url', 'http://example.org/fhir/ValueSet/primary-care-settings']],
        headers: {},
      });
      expect(found.status).toBe(200);
      expect(matchCount(found.body)).toBe(1);
      const [retired] = await db.query(
        sql`select active, selectable from concept where code = 'emergency-gp'`,
      );
      expect(retired).toEqual({ active: false, selectable: true });
      const [group] = await db.query(sql`select selectable from concept where code = 'primary'`);
      expect(group).toEqual({ selectable: false });
      // Loaded by the core's write hooks, tied to the stored resource (deleting it removes them).
      const [loaded] = await db.query(sql`select resource_id from code_system
        where url = 'http://example.org/fhir/CodeSystem/care-setting'`);
      expect(loaded).toEqual({ resource_id: expect.any(String) });

      // Again: the ValueSet without an id is updated in place, not created twice.
      const again = await importFhirTerminology({ core }, `${FIXTURES}fhir/package`);
      expect(again).toMatchObject({ resources: 3, concepts: 5, failures: [] });
      const [valueSets] = await db.query(sql`select count(*)::int as n from code_system`);
      expect(valueSets).toEqual({ n: 1 });
      const search = await core.handle(systemContext('test'), {
        method: 'GET',
        path: 'ValueSet',
        query: [['url', 'http://example.org/fhir/ValueSet/primary-care-settings']],
        headers: {},
      });
      expect(matchCount(search.body)).toBe(1);
    });

    it('reads an NPM package tarball the same way as its folder', async () => {
      const folder = await mkdtemp(join(tmpdir(), 'fhir-package-'));
      try {
        const tarball = join(folder, 'example.terminology-1.0.0.tgz');
        await writeFile(tarball, await packageTarball(`${FIXTURES}fhir/package`));
        const summary = await importFhirTerminology({ core }, tarball);
        expect(summary).toMatchObject({
          resources: 3,
          codeSystems: 1,
          concepts: 5,
          conceptMaps: 1,
          skipped: 1,
          failures: [],
        });
      } finally {
        await rm(folder, { recursive: true });
      }
    });

    it.skipIf(!hasSharedCodes('snomed-gps-2020'))(
      'stores the SNOMED CT Global Patient Set ValueSet (gzipped JSON) so it is found by URL',
      async () => {
        const summary = await importFhirTerminology(
          { core },
          `${SHARED_CODES}snomed-gps-2020/ValueSet-snomed-intl-gps.json.gz`,
        );
        expect(summary).toMatchObject({ resources: 1, codeSystems: 0, failures: [] });
        const read = await core.handle(systemContext('test'), {
          method: 'GET',
          path: 'ValueSet/snomed-intl-gps',
          query: [],
          headers: {},
        });
        expect(read.status).toBe(200);
      },
    );

    it.skipIf(!hasSharedCodes('hl7-terminology-v2-tables'))(
      'imports the HL7 v2 tables of THO (a package folder of CodeSystems and NamingSystems)',
      async () => {
        const folder = `${SHARED_CODES}hl7-terminology-v2-tables`;
        const files = await readdir(join(folder, 'CodeSystem'));
        const summary = await importFhirTerminology({ core }, folder);
        expect(summary.failures).toEqual([]);
        expect(summary.resources).toBe(files.length + (await readdir(join(folder, 'NamingSystem'))).length);
        const administrativeSex = JSON.parse(
          await readFile(join(folder, 'CodeSystem', 'CodeSystem-v2-0001.json'), 'utf8'),
        );
        expect(await conceptCount(administrativeSex.url)).toBe(administrativeSex.concept.length);
      },
      // 400+ resources through the whole write path; PGlite on a busy CI machine is slow.
      240_000,
    );
  });
}

/** The folder as `npm pack` lays it out: every file under `package/`, gzipped tar. */
async function packageTarball(folder: string): Promise<Buffer> {
  const tar = pack();
  for (const name of await readdir(folder)) {
    tar.entry({ name: `package/${name}` }, await readFile(join(folder, name)));
  }
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

/** Entries of a searchset Bundle as the core answers it (serialised JSON or a resource). */
function matchCount(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const bundle: unknown =
    'json' in body && typeof body.json === 'string'
      ? JSON.parse(body.json)
      : 'resource' in body
        ? body.resource
        : undefined;
  if (typeof bundle !== 'object' || bundle === null || !('entry' in bundle)) return 0;
  return Array.isArray(bundle.entry) ? bundle.entry.length : undefined;
}
