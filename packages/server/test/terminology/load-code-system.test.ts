/**
 * The loader behind every importer and stored CodeSystem/ConceptMap (terminology/load-code-system.ts):
 * concepts, hierarchy and its closure, designations and properties land in the concept tables;
 * loading the same url+version again replaces it, another version stays beside it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.ts';
import { sql } from '../../src/store/sql.ts';
import { codeSystemContent } from '../../src/terminology/in-memory-content.ts';
import {
  CodeSystemContentError,
  loadCodeSystem,
  loadConceptMap,
} from '../../src/terminology/load-code-system.ts';
import { readTerminologyRevision } from '../../src/terminology/terminology-revision.ts';
import { testDatabases } from '../support/databases.ts';
import { concept, ICD10, icd10, icpc2, icpc2ToIcd10 } from './terminology-fixtures.ts';

for (const database of testDatabases()) {
  describe(`loading code systems on ${database.name}`, () => {
    let db: Database;
    beforeEach(async () => {
      db = await database.create();
    });
    afterEach(async () => {
      await db?.close();
    });

    async function ancestorsOf(code: string, version = '2019'): Promise<string[]> {
      const rows = await db.query(sql`select a.code from code_system s
        join concept d on d.code_system_id = s.id and d.code = ${code}
        join concept_ancestor x on x.code_system_id = s.id and x.descendant = d.ordinal
        join concept a on a.code_system_id = s.id and a.ordinal = x.ancestor
        where s.url = ${ICD10} and s.version = ${version} order by a.code`);
      return rows.map((row) => String(row.code));
    }

    it('writes concepts and the reflexive transitive closure, parents listed after their children', async () => {
      const progress: number[] = [];
      const result = await loadCodeSystem(db, icd10(), { onProgress: (n) => progress.push(n) });
      expect(result).toEqual({ concepts: 10, version: '2019' });
      expect(progress.at(-1)).toBe(10);
      expect(await ancestorsOf('J45.0')).toEqual(['J40-J47', 'J45', 'J45.0', 'X']);
      expect(await ancestorsOf('X')).toEqual(['X']);
      const [inactive] = await db.query(sql`select active, selectable from concept where code = 'J46'`);
      expect(inactive).toEqual({ active: false, selectable: true });
    });

    it('keeps designations and properties', async () => {
      await loadCodeSystem(db, icpc2());
      const designations = await db.query(sql`select d.language, d.value from concept_designation d
        join concept c on c.code_system_id = d.code_system_id and c.ordinal = d.ordinal where c.code = 'R96'`);
      expect(designations).toEqual([{ language: 'nb', value: 'Astma' }]);
      const properties = await db.query(sql`select p.code, p.value, p.value_text from concept_property p
        join concept c on c.code_system_id = p.code_system_id and c.ordinal = p.ordinal where c.code = 'R96'`);
      expect(properties).toEqual([
        { code: 'component', value: { type: 'code', value: '7' }, value_text: '7' },
      ]);
    });

    it('replaces the same url+version and keeps another version beside it', async () => {
      await loadCodeSystem(db, icd10('2019'));
      await loadCodeSystem(db, icd10('2019'));
      await loadCodeSystem(db, icd10('2016'));
      const versions = await db.query(
        sql`select version, concept_count from code_system where url = ${ICD10} order by version`,
      );
      expect(versions).toEqual([
        { version: '2016', concept_count: 10 },
        { version: '2019', concept_count: 10 },
      ]);
      const [{ count } = {}] = await db.query(sql`select count(*)::int as count from concept_ancestor`);
      // X 1, J40-J47 2, J18.9 2, J45 3, J44 3, J46 3, J45.0/J45.1/J45.9/J44.9 4 each: 30 per version.
      expect(count).toBe(60);
    });

    it('rolls back the whole load when a parent is missing, leaving the earlier copy', async () => {
      await loadCodeSystem(db, icd10('2019'));
      const revision = await readTerminologyRevision(db);
      const broken = codeSystemContent({ url: ICD10, version: '2019', name: 'ICD10' }, [
        concept('J45', 'Asthma', ['J40-J47']),
      ]);
      await expect(loadCodeSystem(db, broken)).rejects.toThrow(CodeSystemContentError);
      const [row] = await db.query(sql`select concept_count from code_system where url = ${ICD10}`);
      expect(row).toEqual({ concept_count: 10 });
      expect(await readTerminologyRevision(db)).toBe(revision);
    });

    it('refuses a hierarchy with a cycle and a code given twice', async () => {
      const cycle = codeSystemContent({ url: 'urn:cycle', version: '1', name: 'Cycle' }, [
        concept('a', 'A', ['b']),
        concept('b', 'B', ['a']),
      ]);
      await expect(loadCodeSystem(db, cycle)).rejects.toThrow(/cycle/);
      const twice = codeSystemContent({ url: 'urn:twice', version: '1', name: 'Twice' }, [
        concept('a', 'A'),
        concept('a', 'A again'),
      ]);
      await expect(loadCodeSystem(db, twice)).rejects.toThrow(/appears twice/);
    });

    it('loads a concept map and replaces it when loaded again', async () => {
      expect(await loadConceptMap(db, icpc2ToIcd10())).toEqual({ elements: 5 });
      expect(await loadConceptMap(db, icpc2ToIcd10())).toEqual({ elements: 5 });
      const [{ count } = {}] = await db.query(sql`select count(*)::int as count from concept_map_element`);
      expect(count).toBe(5);
    });
  });
}
